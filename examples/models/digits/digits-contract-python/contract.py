"""The digits model's contract in Python, the twin of `../contract` (Rust): accepts an image of
one handwritten digit (PNG or PGM bytes, any size, greyscale or colour) or its 64 features, and
answers `{"label": 7, "confidence": 0.98, "scores": [...]}`, as the Rust contract does."""

import features
import image
from trellis import Contract, Tensor, output

# The model's input and output names, as model.toml declares them.
INPUT = "input"
PROBABILITIES = "probabilities"


class Digits(Contract):
    def preprocess(self, value):
        if isinstance(value, bytes):
            values = features.from_image(image.decode(value))
        elif isinstance(value, list):
            values = features.from_numbers(value)
        else:
            raise ValueError(f"expected an image or 64 numbers, got {kind(value)}")
        return [Tensor.from_list(values, [1, features.FEATURES], "f32", INPUT)]

    def postprocess(self, tensors):
        """The label is the most probable class, read from the probabilities rather than the
        model's own label output, so every runtime gives the same answer."""
        scores = output(tensors, PROBABILITIES).to_list()
        if not scores:
            raise ValueError("the model returned no probabilities")
        # The last of equal maxima, as Rust's `max_by` picks it.
        label = max(range(len(scores)), key=lambda i: (scores[i], i))
        # Six decimals, as the Rust contract writes them.
        return {
            "label": label,
            "confidence": round(scores[label], 6),
            "scores": [round(s, 6) for s in scores],
        }


def kind(value):
    if isinstance(value, (int, float)):
        return "one number"
    if isinstance(value, str):
        return "text"
    return "JSON"
