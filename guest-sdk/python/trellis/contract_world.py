"""The `contract` world's exports, bound to the Contract subclass in the project's `contract.py`."""

from componentize_py_types import Err

from .contract import _defined
from .exported import Exported
from .tensors import Tensor
from .values import from_wit, to_wit

_contract = Exported("contract", _defined, "Contract")


class WitWorld:
    def preprocess(self, input):
        tensors = _contract.call("preprocess", from_wit(input))
        if isinstance(tensors, Tensor):
            tensors = [tensors]
        if not all(isinstance(t, Tensor) for t in tensors):
            raise Err("preprocess must return a list of trellis.Tensor")
        return [t.to_wit() for t in tensors]

    def postprocess(self, outputs):
        return to_wit(_contract.call("postprocess", [Tensor.from_wit(t) for t in outputs]))
