"""Single-precision arithmetic. The Rust contract computes in f32; rounding each step here the
same way gives the model bit for bit the tensor the Rust contract gives it, so both answer alike.

Rounding the double-precision result of one +, -, * or / of two f32 values to f32 gives what f32
arithmetic gives: a double carries more than twice f32's precision, so rounding twice is harmless.
"""

import struct

_F32 = struct.Struct("<f")


def f32(x):
    """`x` rounded to the nearest f32."""
    return _F32.unpack(_F32.pack(x))[0]


def total(values):
    """The sum as Rust's `Iterator::sum` of f32s computes it: left to right, rounding each step."""
    pack, unpack = _F32.pack, _F32.unpack
    acc = 0.0
    for v in values:
        acc = unpack(pack(acc + v))[0]
    return acc
