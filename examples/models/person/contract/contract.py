"""The person model's contract: a camera frame (PNG or PGM bytes, any size from 24x24, grey or
colour) or 576 grey levels (a 24x24 frame, 0 black to 1 white, row by row) in;
`{"person": true, "confidence": 0.98}` out, the confidence being the model's probability of
its answer."""

from math import sqrt

from trellis import Blob, Contract, Tensor, output

import images

SIDE = 24  # The model sees SIDE x SIDE block averages of the frame.
FEATURES = SIDE * SIDE
# model.toml's input and output names.
INPUT = "input"
PROBABILITIES = "probabilities"


class Person(Contract):
    def preprocess(self, value):
        if isinstance(value, (Blob, bytes)):
            grey = blocks(images.decode(value))
        elif isinstance(value, list):
            grey = checked_levels(value)
        else:
            raise TypeError(f"expected a camera frame (PNG or PGM bytes) or {FEATURES} numbers, got {kind(value)}")
        return [Tensor.from_list(standardised(grey), shape=[1, FEATURES], name=INPUT)]

    def postprocess(self, tensors):
        probabilities = output(tensors, PROBABILITIES).to_list()
        if len(probabilities) != 2:
            raise ValueError(f"expected 2 probabilities (no person, person), got {len(probabilities)}")
        person = probabilities[1] > probabilities[0]
        return {"person": person, "confidence": probabilities[1] if person else probabilities[0]}


def blocks(image):
    """The frame averaged down to SIDE x SIDE, row by row, as the model was trained."""
    if image.width < SIDE or image.height < SIDE:
        raise ValueError(f"the frame is {image.width}x{image.height}; it must be at least {SIDE}x{SIDE}")
    width, pixels = image.width, image.pixels
    out = []
    for row in range(SIDE):
        rows = range(row * image.height // SIDE, (row + 1) * image.height // SIDE)
        for col in range(SIDE):
            left, right = col * width // SIDE, (col + 1) * width // SIDE
            total = sum(sum(pixels[y * width + left : y * width + right]) for y in rows)
            out.append(total / (len(rows) * (right - left)))
    return out


def checked_levels(numbers):
    if len(numbers) != FEATURES:
        raise ValueError(f"expected {FEATURES} numbers (a {SIDE}x{SIDE} frame, row by row), got {len(numbers)}")
    for n in numbers:
        if not 0.0 <= n <= 1.0:
            raise ValueError(f"{n} is outside 0..1, the range of grey levels")
    return numbers


def standardised(grey):
    """Zero mean and unit spread, so the lighting of the scene does not matter; a flat frame
    stays flat rather than amplifying its last bit of noise."""
    mean = sum(grey) / len(grey)
    spread = max(sqrt(sum((g - mean) ** 2 for g in grey) / len(grey)), 1.0 / 255.0)
    return [(g - mean) / spread for g in grey]


def kind(value):
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "one number"
    if isinstance(value, str):
        return "text"
    return "JSON"
