"""Decoding the frames a camera sends, PNG (any colour type and bit depth, not interlaced) or PGM
(`P5` binary, `P2` text), into grey levels from 0.0 (black) to 1.0 (white), row by row.

Pure Python with `zlib`, which the component's CPython has: no image library is needed.
"""

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Samples per pixel of each PNG colour type.
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# The bit depths each colour type allows.
DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


class Grey:
    def __init__(self, width, height, pixels):
        self.width = width
        self.height = height
        self.pixels = pixels


def decode(data):
    """A `Grey` image from PNG or PGM bytes, told apart by their first bytes."""
    data = bytes(data)
    if data.startswith(PNG_SIGNATURE):
        return decode_png(data)
    if data.startswith(b"P5") or data.startswith(b"P2"):
        return decode_pgm(data)
    raise ValueError("the frame is neither PNG nor PGM")


def decode_png(data):
    header, palette, compressed = None, None, []
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        crc = data[pos + 8 + length : pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise ValueError(f"bad PNG: the {kind.decode('latin-1')} chunk is cut short")
        if zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise ValueError(f"bad PNG: the {kind.decode('latin-1')} chunk's checksum is wrong")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = [body[i : i + 3] for i in range(0, len(body) - 2, 3)]
        elif kind == b"IDAT":
            compressed.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    else:
        raise ValueError("bad PNG: the data is cut short before its IEND chunk")
    if header is None:
        raise ValueError("bad PNG: no IHDR chunk")
    width, height, depth, colour, _, _, interlace = header
    if colour not in CHANNELS or depth not in DEPTHS[colour]:
        raise ValueError(f"bad PNG: colour type {colour} with {depth}-bit samples")
    if interlace:
        raise ValueError("interlaced PNG is not supported; send it non-interlaced")
    if colour == 3 and not palette:
        raise ValueError("bad PNG: a palette image without a PLTE chunk")
    if width == 0 or height == 0:
        raise ValueError("bad PNG: the image is empty")
    try:
        raw = zlib.decompress(b"".join(compressed))
    except zlib.error as e:
        raise ValueError(f"bad PNG: the image data does not decompress ({e})") from None
    channels = CHANNELS[colour]
    stride = (width * channels * depth + 7) // 8
    if len(raw) < height * (stride + 1):
        raise ValueError(f"bad PNG: {len(raw)} bytes of image data, {height * (stride + 1)} needed")
    rows = unfilter(raw, height, stride, max(1, channels * depth // 8))

    top = (1 << depth) - 1
    pixels = []
    for row in rows:
        samples = unpack(row, depth, width * channels)
        if colour == 3:
            for index in samples:
                if index >= len(palette):
                    raise ValueError(f"bad PNG: palette index {index} of {len(palette)}")
                r, g, b = palette[index]
                pixels.append((0.299 * r + 0.587 * g + 0.114 * b) / 255.0)
        elif channels >= 3:
            for i in range(0, len(samples), channels):
                r, g, b = samples[i], samples[i + 1], samples[i + 2]
                pixels.append((0.299 * r + 0.587 * g + 0.114 * b) / top)
        else:
            pixels.extend(s / top for s in samples[::channels])
    return Grey(width, height, pixels)


def unfilter(raw, height, stride, bpp):
    """The rows of a PNG image with each row's filter undone."""
    rows = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        row = bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 0xFF
        elif kind == 2:  # Up
            for i in range(stride):
                row[i] = (row[i] + previous[i]) & 0xFF
        elif kind == 3:  # Average
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                row[i] = (row[i] + predictor) & 0xFF
        elif kind != 0:
            raise ValueError(f"bad PNG: row {y} has filter type {kind}")
        rows.append(row)
        previous = row
    return rows


def unpack(row, depth, count):
    """`count` samples of `depth` bits from a row's bytes."""
    if depth == 8:
        return row[:count]
    if depth == 16:
        return [row[i] << 8 | row[i + 1] for i in range(0, 2 * count, 2)]
    per_byte = 8 // depth
    mask = (1 << depth) - 1
    return [(row[i // per_byte] >> (8 - depth * (i % per_byte + 1))) & mask for i in range(count)]


def decode_pgm(data):
    binary = data.startswith(b"P5")
    pos = 2
    header = []
    for _ in range(3):
        number, pos = next_number(data, pos)
        if number is None:
            raise ValueError("bad PGM header: expected width, height and maximum")
        header.append(number)
    width, height, top = header
    if not 0 < top <= 65535:
        raise ValueError(f"bad PGM maximum value {top}")
    count = width * height
    if binary:
        pos += 1  # The single white space after the header.
        size = 2 if top > 255 else 1
        body = data[pos : pos + count * size]
        if len(body) < count * size:
            raise ValueError("PGM data shorter than width x height")
        values = body if size == 1 else [body[i] << 8 | body[i + 1] for i in range(0, len(body), 2)]
    else:
        values = []
        for _ in range(count):
            number, pos = next_number(data, pos)
            if number is None:
                raise ValueError("PGM has fewer values than width x height")
            values.append(number)
    return Grey(width, height, [v / top for v in values])


def next_number(data, pos):
    """The next decimal number at or after `pos`, skipping white space and `#` comments, and
    where it ends; None at the end of the data."""
    while pos < len(data):
        if data[pos] == ord("#"):
            while pos < len(data) and data[pos] != ord("\n"):
                pos += 1
        elif chr(data[pos]).isspace():
            pos += 1
        else:
            break
    start = pos
    while pos < len(data) and 48 <= data[pos] <= 57:
        pos += 1
    return (int(data[start:pos]) if pos > start else None), pos
