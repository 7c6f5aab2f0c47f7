"""Decoding the images a camera or a person sends: PNG (any colour type and bit depth,
interlaced or not) and PGM (`P2` text or `P5` binary), into grey levels from 0.0 (black) to 1.0
(white), each an f32 as the Rust contract has it."""

from array import array

import png
from f32 import f32

# Pure Python holds an image in the contract's memory as 4 bytes a pixel (more while a PNG is
# inflated) and reads one at 1 to 3 µs a pixel, so an image larger than a VGA frame is refused up
# front, with the limit named, rather than run out of memory or time (see model.toml).
MAX_PIXELS = 640 * 480


class Grey:
    """A greyscale image, row by row: `pixels` is an `array('f')` of `width * height` levels."""

    def __init__(self, width, height, pixels):
        self.width = width
        self.height = height
        self.pixels = pixels


def decode(data):
    """Decodes PNG or PGM bytes, telling them apart by their first bytes."""
    if data.startswith(b"\x89PNG"):
        width, height, pixels = png.decode(data, MAX_PIXELS)
        return Grey(width, height, pixels)
    if data.startswith(b"P5") or data.startswith(b"P2"):
        return decode_pgm(data)
    raise ValueError("the image is neither PNG nor PGM")


def decode_pgm(data):
    binary = data.startswith(b"P5")
    reader = _Numbers(data, 2)
    header = [reader.next() for _ in range(3)]
    if None in header:
        raise ValueError("bad PGM header: expected width, height and maximum")
    width, height, maximum = header
    if maximum == 0 or maximum > 65535:
        raise ValueError(f"bad PGM maximum value {maximum}")
    count = width * height
    if count > MAX_PIXELS:
        raise ValueError(f"the image is {width}×{height}; this contract reads images of up to {MAX_PIXELS} pixels")
    if binary:
        start = reader.pos + 1  # The single whitespace byte after the header.
        size = 2 if maximum > 255 else 1
        body = data[start : start + count * size]
        if len(body) < count * size:
            raise ValueError("PGM data shorter than width × height")
        values = body if size == 1 else [body[i] << 8 | body[i + 1] for i in range(0, len(body), 2)]
    else:
        values = []
        for _ in range(count):
            value = reader.next()
            if value is None:
                raise ValueError("PGM has fewer values than width × height")
            values.append(value)
    # Rust divides in f32; a double-precision quotient rounded to f32 is the same number.
    levels = {v: f32(v / maximum) for v in set(values)}
    return Grey(width, height, array("f", [levels[v] for v in values]))


class _Numbers:
    """Decimal numbers in a PGM header or text body, skipping white space and `#` comments."""

    def __init__(self, data, pos):
        self.data = data
        self.pos = pos

    def next(self):
        data, pos = self.data, self.pos
        while True:
            if pos >= len(data):
                return None
            if data[pos] == ord("#"):
                end = data.find(b"\n", pos)
                if end < 0:
                    return None
                pos = end
            elif data[pos] in b" \t\n\x0c\r":
                pos += 1
            else:
                break
        start = pos
        while pos < len(data) and 0x30 <= data[pos] <= 0x39:
            pos += 1
        self.pos = pos
        return int(data[start:pos]) if pos > start else None
