"""Turning an image of one handwritten digit into the 64 features the model was trained on:
scikit-learn's digits are 8×8 images whose values run from 0 (paper) to 16 (ink). The arithmetic
is the Rust contract's, in f32 (see f32.py), so both give the model the same tensor."""

from f32 import f32, total

SIDE = 8
FEATURES = SIDE * SIDE
INK = 16.0


def from_image(image):
    """Averages the image down to 8×8 and scales it so ink is 16 and paper 0. Whether the ink is
    dark on light paper or light on dark is read from the image's border, which is paper."""
    w, h, pixels = image.width, image.height, image.pixels
    if w < SIDE or h < SIDE:
        raise ValueError(f"the image is {w}×{h}; it must be at least {SIDE}×{SIDE}")
    dark_ink = _border_mean(image) > 0.5
    features = []
    for cell in range(FEATURES):
        row, col = divmod(cell, SIDE)
        rows = range(row * h // SIDE, (row + 1) * h // SIDE)
        left, right = col * w // SIDE, (col + 1) * w // SIDE
        cell_sum = total(p for y in rows for p in pixels[y * w + left : y * w + right])
        brightness = f32(cell_sum / (len(rows) * (right - left)))
        features.append(f32((f32(1.0 - brightness) if dark_ink else brightness) * INK))
    return features


def from_numbers(numbers):
    """Checks 64 numbers given directly, in the model's own scale."""
    if len(numbers) != FEATURES:
        raise ValueError(f"expected {FEATURES} numbers (an 8×8 image, row by row), got {len(numbers)}")
    for n in numbers:
        if isinstance(n, bool) or not isinstance(n, (int, float)):
            raise ValueError(f"expected numbers, got {n!r}")
        if not 0.0 <= n <= INK:
            raise ValueError(f"{n} is outside 0..=16, the range of the training data")
    return [float(n) for n in numbers]


def _border_mean(image):
    w, h, p = image.width, image.height, image.pixels
    border = [v for x in range(w) for v in (p[x], p[(h - 1) * w + x])]
    border += [v for y in range(h) for v in (p[y * w], p[y * w + w - 1])]
    return f32(total(border) / len(border))
