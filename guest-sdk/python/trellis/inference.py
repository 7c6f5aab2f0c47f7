"""Models the app's manifest names, run natively by the host."""

from wit_world.imports import inference as _inference

from .errors import call
from .tensors import Tensor
from .values import from_wit, to_wit


def predict(model, value):
    """The model's answer for `value`, through its contract: a plain Python value."""
    return from_wit(call(_inference.predict, model, to_wit(value)))


def run(model, tensors):
    """Runs the model alone on tensors, skipping its contract."""
    outputs = call(_inference.run, model, [t.to_wit() for t in tensors])
    return [Tensor.from_wit(t) for t in outputs]
