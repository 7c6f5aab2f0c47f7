"""Tensors between a contract and its model, and helpers between them and Python lists or bytes.

A tensor is laid out as in wasi-nn: dimensions, element type, and the elements as little-endian
bytes in row-major order. WebAssembly is little-endian, so `array` packs them as they are.
"""

import struct
from array import array
from math import prod

from wit_world.imports import types

# dtype name -> (WIT tensor type, array typecode or None for struct-packed types, element size)
_DTYPES = {
    "f16": (types.TensorType.FP16, None, 2),
    "f32": (types.TensorType.FP32, "f", 4),
    "f64": (types.TensorType.FP64, "d", 8),
    "bf16": (types.TensorType.BF16, None, 2),
    "u8": (types.TensorType.U8, "B", 1),
    "i32": (types.TensorType.I32, "i", 4),
    "i64": (types.TensorType.I64, "q", 8),
}
_BY_WIT = {wit: name for name, (wit, _, _) in _DTYPES.items()}


class Tensor:
    """A model input or output: `name`, `shape`, `dtype` (`"f32"`, `"i64"`, ...) and `data`."""

    def __init__(self, data: bytes, shape, dtype="f32", name=""):
        if dtype not in _DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(_DTYPES)}")
        expected = prod(shape) * _DTYPES[dtype][2]
        if len(data) != expected:
            raise ValueError(
                f"tensor {name or '(unnamed)'}: {len(data)} bytes, but shape {list(shape)} of {dtype} needs {expected}"
            )
        self.data = bytes(data)
        self.shape = [int(d) for d in shape]
        self.dtype = dtype
        self.name = name

    @classmethod
    def from_list(cls, values, shape=None, dtype="f32", name=""):
        """A tensor of `values` (flat, row-major), shaped `[len(values)]` unless `shape` says."""
        values = list(values)
        shape = [len(values)] if shape is None else list(shape)
        if len(values) != prod(shape):
            raise ValueError(f"{len(values)} values do not fill shape {shape}")
        _, code, _ = _DTYPES.get(dtype, (None, None, 0))
        if code is not None:
            data = array(code, values).tobytes()
        elif dtype == "f16":
            data = struct.pack(f"<{len(values)}e", *values)
        elif dtype == "bf16":
            wide = struct.unpack(f"<{len(values)}I", struct.pack(f"<{len(values)}f", *values))
            data = struct.pack(f"<{len(values)}H", *(w >> 16 for w in wide))
        else:
            raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(_DTYPES)}")
        return cls(data, shape, dtype, name)

    def to_list(self):
        """The elements as a flat Python list, row-major."""
        code = _DTYPES[self.dtype][1]
        count = prod(self.shape)
        if code is not None:
            return array(code, self.data).tolist()
        if self.dtype == "f16":
            return list(struct.unpack(f"<{count}e", self.data))
        halves = struct.unpack(f"<{count}H", self.data)
        return list(struct.unpack(f"<{count}f", struct.pack(f"<{count}I", *(h << 16 for h in halves))))

    def __repr__(self):
        return f"Tensor(name={self.name!r}, shape={self.shape}, dtype={self.dtype!r})"

    def to_wit(self):
        return types.Tensor(self.name, self.shape, _DTYPES[self.dtype][0], self.data)

    @classmethod
    def from_wit(cls, tensor):
        return cls(tensor.data, tensor.dimensions, _BY_WIT[tensor.ty], tensor.name)


def output(tensors, name):
    """The tensor called `name`, with an error that lists the names there are."""
    for tensor in tensors:
        if tensor.name == name:
            return tensor
    names = ", ".join(t.name or "(unnamed)" for t in tensors)
    raise ValueError(f"the model has no output {name!r}; it has {names}")
