"""Writes the fixture digits again in every image layout a contract must read, so the tests can
check that the Rust contract (the `png` crate) and the Python one (its own decoder) read them
alike: each PNG colour type and bit depth, palettes with and without transparency, all five row
filters, Adam7 interlacing, colour ink on colour paper, light ink on dark paper, sizes that are
not multiples of 8, a VGA frame (the largest the Python contract reads), and PGM as text and binary, 8 and 16 bits.

PIL writes neither interlaced PNG nor chosen filters, so the PNG writer is here; the tests'
check of it is that the `png` crate reads what it writes.

Writes fixtures/encodings/*.png|pgm and fixtures/encodings.json, next to this file.
Run: "$(scripts/setup-python)/bin/python" examples/models/digits/make_encodings.py
"""

import json
import pathlib
import struct
import zlib

import numpy as np
from PIL import Image

HERE = pathlib.Path(__file__).parent
OUT = HERE / "fixtures/encodings"
SOURCES = ("digit-3.png", "digit-8.png")
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def pack_row(samples, depth):
    """Samples (already within the bit depth) as the bytes of one scanline."""
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    per_byte = 8 // depth
    out = bytearray()
    for i in range(0, len(samples), per_byte):
        byte = 0
        group = list(samples[i : i + per_byte]) + [0] * (per_byte - len(samples[i : i + per_byte]))
        for s in group:
            byte = byte << depth | s
        out.append(byte)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filtered(kind, line, previous, step):
    out = bytearray([kind])
    for i, x in enumerate(line):
        a = line[i - step] if i >= step else 0
        b = previous[i]
        c = previous[i - step] if i >= step else 0
        predictor = (0, a, b, (a + b) // 2, paeth(a, b, c))[kind]
        out.append((x - predictor) & 0xFF)
    return bytes(out)


def write_png(name, pixels, colour, depth, palette=None, trns=None, interlace=False):
    """`pixels`: rows of tuples of samples. Rows cycle through the five filters."""
    height, width = len(pixels), len(pixels[0])
    channels = len(pixels[0][0])
    step = max(1, depth * channels // 8)
    raw = bytearray()
    passes = ADAM7 if interlace else ((0, 0, 1, 1),)
    row_number = 0
    for x0, y0, dx, dy in passes:
        rows = [[s for px in pixels[y][x0::dx] for s in px] for y in range(y0, height, dy)]
        if not rows or not rows[0]:
            continue
        previous = bytes(len(pack_row(rows[0], depth)))
        for samples in rows:
            line = pack_row(samples, depth)
            raw += filtered(row_number % 5, line, previous, step)
            previous = line
            row_number += 1
    data = b"\x89PNG\r\n\x1a\n" + chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, int(interlace))
    )
    if palette is not None:
        data += chunk(b"PLTE", b"".join(bytes(entry) for entry in palette))
    if trns is not None:
        data += chunk(b"tRNS", trns)
    data += chunk(b"tEXt", b"Comment\0an ancillary chunk the decoders skip")
    data += chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
    (OUT / name).write_bytes(data)


def grid(grey, f):
    return [[f(int(v)) for v in row] for row in grey]


def encodings(stem, grey):
    """(file, lossless) for each layout of one digit; lossless ones keep every grey level."""
    small = grey // 64  # 2 bits
    made = []

    def png(suffix, pixels, colour, depth, lossless, **kw):
        name = f"{stem}-{suffix}.png"
        write_png(name, pixels, colour, depth, **kw)
        made.append((name, lossless))

    png("grey1", grid(grey, lambda v: (int(v >= 128),)), 0, 1, False)
    png("grey2", grid(small, lambda v: (v,)), 0, 2, False)
    png("grey4", grid(grey, lambda v: (v >> 4,)), 0, 4, False)
    png("grey8", grid(grey, lambda v: (v,)), 0, 8, True)
    png("grey16", grid(grey, lambda v: (v << 8 | 0xA5,)), 0, 16, True)
    png("grey8-trns", grid(grey, lambda v: (v,)), 0, 8, True, trns=b"\x00\xff")
    png("grey-alpha8", grid(grey, lambda v: (v, 255 - v)), 4, 8, True)
    png("grey-alpha16", grid(grey, lambda v: (v * 257, 65535)), 4, 16, True)
    png("rgb8", grid(grey, lambda v: (v, v, v)), 2, 8, True)
    png("rgb16", grid(grey, lambda v: (v * 257, v << 8 | 0xFF, v << 8)), 2, 16, True)
    png("rgba8", grid(grey, lambda v: (v, v, v, 128)), 6, 8, True)
    png("rgba16", grid(grey, lambda v: (v * 257, v * 257, v * 257, 0)), 6, 16, True)
    # Blue ink on yellow paper, and a white digit on a dark red board.
    mix = lambda v, ink, paper: tuple(round(i + (p - i) * v / 255) for i, p in zip(ink, paper))
    png("blue-on-yellow", grid(grey, lambda v: mix(v, (20, 40, 160), (250, 220, 60))), 2, 8, False)
    png("white-on-red", grid(grey, lambda v: mix(v, (250, 250, 250), (90, 10, 20))), 2, 8, False)
    levels = sorted({int(v) for v in grey.flat})
    grey_palette = [(v, v, v) for v in levels]
    index = {v: i for i, v in enumerate(levels)}
    png("palette8", grid(grey, lambda v: (index[v],)), 3, 8, True, palette=grey_palette)
    png(
        "palette8-trns",
        grid(grey, lambda v: (index[v],)),
        3,
        8,
        True,
        palette=grey_palette,
        trns=bytes([0, 64]),
    )
    # Sixteen entries for four bits; indices 12 and up are past a 12-entry palette (black).
    png("palette4", grid(grey, lambda v: (v >> 4,)), 3, 4, False, palette=[(17 * i,) * 3 for i in range(12)])
    png("palette1", grid(grey, lambda v: (int(v >= 128),)), 3, 1, False, palette=[(10, 0, 90), (255, 255, 200)])
    png("grey8-adam7", grid(grey, lambda v: (v,)), 0, 8, True, interlace=True)
    png("grey1-adam7", grid(grey, lambda v: (int(v >= 128),)), 0, 1, False, interlace=True)
    png("palette2-adam7", grid(small, lambda v: (v,)), 3, 2, False, palette=[(85 * i,) * 3 for i in range(4)], interlace=True)
    png("rgb16-adam7", grid(grey, lambda v: (v * 257, v * 257, v * 257)), 2, 16, True, interlace=True)

    # Sizes that are not multiples of 8 (cells of unequal sizes), and a tall interlaced one
    # smaller than a pass's step in width.
    odd = np.asarray(Image.fromarray(grey).resize((37, 29), Image.NEAREST))
    png("37x29-rgba8", grid(odd, lambda v: (v, v // 2, 255 - v, 255)), 6, 8, False)
    thin = np.asarray(Image.fromarray(grey).resize((9, 50), Image.BILINEAR))
    png("9x50-grey8-adam7", grid(thin, lambda v: (v,)), 0, 8, False, interlace=True)

    if stem == "digit-3":
        # A VGA camera frame, the largest image the Python contract reads: blue ink on yellow.
        frame = np.asarray(Image.fromarray(grey).resize((640, 480), Image.BILINEAR))
        png("640x480-rgb8", grid(frame, lambda v: mix(v, (20, 40, 160), (250, 220, 60))), 2, 8, False)

    inverted = 255 - grey
    png("light-on-dark", grid(inverted, lambda v: (v,)), 0, 8, False)

    height, width = grey.shape
    text = f"P2\n# {stem}, text\n{width} {height}\n255\n" + "\n".join(" ".join(str(v) for v in row) for row in grey) + "\n"
    (OUT / f"{stem}-text.pgm").write_text(text)
    made.append((f"{stem}-text.pgm", True))
    (OUT / f"{stem}-8bit.pgm").write_bytes(f"P5 {width} {height} 255\n".encode() + grey.astype(np.uint8).tobytes())
    made.append((f"{stem}-8bit.pgm", True))
    wide = (grey.astype(np.uint32) * 257).astype(">u2").tobytes()
    (OUT / f"{stem}-16bit.pgm").write_bytes(f"P5\n{width} {height}\n65535\n".encode() + wide)
    made.append((f"{stem}-16bit.pgm", True))
    return made


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    listing = []
    for source in SOURCES:
        grey = np.asarray(Image.open(HERE / "fixtures/images" / source).convert("L"))
        stem = source.removesuffix(".png")
        for file, lossless in encodings(stem, grey):
            listing.append({"file": file, "source": source, "lossless": lossless})
    (HERE / "fixtures/encodings.json").write_text(json.dumps(listing, indent=1) + "\n")
    print(f"wrote {len(listing)} encodings to {OUT}")


if __name__ == "__main__":
    main()
