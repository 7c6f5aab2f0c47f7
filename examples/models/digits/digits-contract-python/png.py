"""PNG in pure Python (zlib inflates), read as the Rust contract's `png` crate reads it with its
EXPAND and STRIP_16 transformations: every colour type and bit depth, the five row filters and
Adam7 interlacing; a palette index past the palette is black, grey below 8 bits is scaled to
0..255 and a 16-bit sample keeps its high byte. Transparency is ignored: the grey level never
reads alpha. Chunk CRCs are checked; the zlib checksum is not, as the crate does not check it.
"""

import zlib
from array import array

from f32 import f32

SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Colour type: its name, samples a pixel and the bit depths it allows.
COLOUR_TYPES = {
    0: ("grey", 1, (1, 2, 4, 8, 16)),
    2: ("RGB", 3, (8, 16)),
    3: ("palette", 1, (1, 2, 4, 8)),
    4: ("grey with alpha", 2, (8, 16)),
    6: ("RGBA", 4, (8, 16)),
}

# Adam7's passes: first column, first row, column step, row step.
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))

# How many colours' grey levels are remembered while reading one image.
_CACHED_COLOURS = 1 << 16

# The f32 weights of the Rust contract's luma, 0.299 R + 0.587 G + 0.114 B.
_WEIGHTS = (f32(0.299), f32(0.587), f32(0.114))


class PngError(ValueError):
    def __init__(self, why):
        super().__init__(f"bad PNG: {why}")


def decode(data, max_pixels):
    """(width, height, grey levels as an f32 array, row by row) of PNG bytes, refusing an image
    of more than `max_pixels` before reading its pixels."""
    if not data.startswith(SIGNATURE):
        raise PngError("the signature is not PNG's")
    header, palette, compressed = _chunks(data, max_pixels)
    width, height, depth, colour, interlaced = header
    _, channels, _ = COLOUR_TYPES[colour]
    if colour == 3 and palette is None:
        raise PngError("a palette image without a PLTE chunk")
    levels = _levels(colour, depth, palette)
    passes = ADAM7 if interlaced else ((0, 0, 1, 1),)
    sizes = [(_count(width, x0, dx), _count(height, y0, dy)) for x0, y0, dx, dy in passes]
    bits = depth * channels
    expected = sum(h * (1 + (w * bits + 7) // 8) for w, h in sizes if w and h)
    raw = _inflate(compressed, expected)

    pixels = array("f", bytes(4 * width * height))
    step = max(1, bits // 8)  # The filters' byte distance to the pixel on the left.
    at = 0
    for (x0, y0, dx, dy), (w, h) in zip(passes, sizes):
        if not (w and h):
            continue
        stride = (w * bits + 7) // 8
        previous = bytearray(stride)
        for j in range(h):
            kind = raw[at]
            line = _unfilter(kind, bytearray(raw[at + 1 : at + 1 + stride]), previous, step, y0 + j * dy)
            at += 1 + stride
            previous = line
            start = (y0 + j * dy) * width + x0
            pixels[start : start + (w - 1) * dx + 1 : dx] = array("f", levels(line, w))
    return width, height, pixels


def _chunks(data, max_pixels):
    """The header fields, the palette (or None) and the concatenated IDAT data."""
    header, palette, idat, pos = None, None, [], len(SIGNATURE)
    while True:
        if pos + 8 > len(data):
            if idat:
                break  # Like the crate, the image data suffices; IEND is not required.
            raise PngError("the file ends before its image data")
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        crc = data[pos + 8 + length : pos + 12 + length]
        if len(crc) < 4:
            if idat:
                break
            raise PngError(f"the {kind.decode('latin-1')} chunk is cut short")
        if zlib.crc32(kind + body) != int.from_bytes(crc, "big"):
            raise PngError(f"the {kind.decode('latin-1')} chunk's CRC does not match its data")
        pos += 12 + length
        if header is None and kind != b"IHDR":
            raise PngError(f"the first chunk is {kind.decode('latin-1')}, not IHDR")
        if kind == b"IHDR":
            header = _header(body, max_pixels)
        elif kind == b"PLTE":
            palette = [tuple(body[i : i + 3]) for i in range(0, len(body) - 2, 3)]
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if not idat:
        raise PngError("no IDAT chunk: the file holds no image data")
    return header, palette, b"".join(idat)


def _header(body, max_pixels):
    if len(body) != 13:
        raise PngError(f"IHDR is {len(body)} bytes long; it must be 13")
    width = int.from_bytes(body[0:4], "big")
    height = int.from_bytes(body[4:8], "big")
    depth, colour, compression, filtering, interlace = body[8:13]
    if width == 0 or height == 0:
        raise PngError(f"the image is {width}×{height}")
    if width * height > max_pixels:
        raise PngError(f"the image is {width}×{height}; this contract reads images of up to {max_pixels} pixels")
    if colour not in COLOUR_TYPES:
        raise PngError(f"unknown colour type {colour}")
    name, _, depths = COLOUR_TYPES[colour]
    if depth not in depths:
        raise PngError(f"{name} images cannot have {depth}-bit samples")
    if compression != 0 or filtering != 0:
        raise PngError(f"unknown compression method {compression} or filter method {filtering}")
    if interlace > 1:
        raise PngError(f"unknown interlace method {interlace}")
    return width, height, depth, colour, interlace == 1


def _count(size, first, step):
    """How many of `size` columns (or rows) an interlace pass starting at `first` covers."""
    return (size - first + step - 1) // step if size > first else 0


def _inflate(compressed, expected):
    """The first `expected` bytes of the zlib stream, refusing a shorter one."""
    if len(compressed) < 2 or compressed[0] & 0x0F != 8 or int.from_bytes(compressed[:2], "big") % 31:
        raise PngError("the image data is not a zlib stream")
    try:
        # Raw deflate after the two-byte zlib header: the crate does not check the Adler-32 sum.
        raw = zlib.decompressobj(-15).decompress(compressed[2:], expected)
    except zlib.error as e:
        raise PngError(f"corrupt image data ({e})") from None
    if len(raw) < expected:
        raise PngError(f"the image data ends early: {len(raw)} of {expected} bytes")
    return raw


def _unfilter(kind, line, previous, step, row):
    """Undoes the filter `kind` of one scanline, in place, given the scanline above."""
    n = len(line)
    if kind == 0:
        pass
    elif kind == 1:  # Sub
        for i in range(step, n):
            line[i] = (line[i] + line[i - step]) & 0xFF
    elif kind == 2:  # Up
        line = bytearray((a + b) & 0xFF for a, b in zip(line, previous))
    elif kind == 3:  # Average
        for i in range(step):
            line[i] = (line[i] + (previous[i] >> 1)) & 0xFF
        for i in range(step, n):
            line[i] = (line[i] + ((line[i - step] + previous[i]) >> 1)) & 0xFF
    elif kind == 4:  # Paeth
        for i in range(step):
            line[i] = (line[i] + previous[i]) & 0xFF
        for i in range(step, n):
            a, b, c = line[i - step], previous[i], previous[i - step]
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    else:
        raise PngError(f"unknown filter type {kind} in row {row}")
    return line


def _levels(colour, depth, palette):
    """A function from one unfiltered scanline and its width in pixels to their grey levels."""
    _, channels, _ = COLOUR_TYPES[colour]
    if colour in (2, 3, 6):
        wr, wg, wb = ([f32(w * v) for v in range(256)] for w in _WEIGHTS)
        cache = {}

        def luma(r, g, b):
            # The Rust contract's f32 luma, step by step. A picture has few colours, so the levels
            # are cached, up to a bound that keeps a noisy photo's cache small.
            key = r << 16 | g << 8 | b
            level = cache.get(key)
            if level is None:
                level = f32(f32(f32(wr[r] + wg[g]) + wb[b]) / 255.0)
                if len(cache) >= _CACHED_COLOURS:
                    cache.clear()
                cache[key] = level
            return level

    if colour == 3:
        # An index past the palette is black, as the crate's expanded palette has it.
        by_index = [luma(*entry) for entry in palette[:256]]
        by_index += [0.0] * (256 - len(by_index))
        return lambda line, w: [by_index[i] for i in _samples(line, depth, w)]
    grey = [f32(v / 255.0) for v in range(256)]
    if colour in (0, 4):
        scale = 255 // ((1 << depth) - 1) if depth < 8 else 1
        return lambda line, w: [grey[v * scale] for v in _samples(line, depth, w * channels)[::channels]]
    return lambda line, w: [
        luma(r, g, b)
        for r, g, b in zip(*(_samples(line, depth, w * channels)[c::channels] for c in range(3)))
    ]


def _samples(line, depth, count):
    """The first `count` samples of a scanline as 0..255 (16-bit: the high byte) or, below 8
    bits, as raw values."""
    if depth == 8:
        return line
    if depth == 16:
        return line[0::2]
    mask = (1 << depth) - 1
    shifts = range(8 - depth, -1, -depth)
    return [(byte >> s) & mask for byte in line for s in shifts][:count]
