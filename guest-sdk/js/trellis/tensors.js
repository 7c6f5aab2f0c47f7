// Tensors between a contract and its model, and helpers between them and arrays of numbers.
// A tensor is laid out as in wasi-nn: dimensions, element type, and the elements as
// little-endian bytes in row-major order. WebAssembly is little-endian, so typed arrays view
// those bytes as they are.

// dtype -> [WIT tensor type, typed array or null for half-width floats, element size]
const DTYPES = {
  f16: ["fp16", null, 2],
  f32: ["fp32", Float32Array, 4],
  f64: ["fp64", Float64Array, 8],
  bf16: ["bf16", null, 2],
  u8: ["u8", Uint8Array, 1],
  i32: ["i32", Int32Array, 4],
  i64: ["i64", BigInt64Array, 8],
};
const BY_WIT = Object.fromEntries(Object.entries(DTYPES).map(([name, [wit]]) => [wit, name]));

const product = (shape) => shape.reduce((a, b) => a * b, 1);

function checkDtype(dtype) {
  if (!(dtype in DTYPES)) {
    throw new RangeError(`unknown dtype "${dtype}"; expected one of ${Object.keys(DTYPES).join(", ")}`);
  }
}

/** A model input or output: `name`, `shape`, `dtype` ("f32", "i64", ...) and `data` (bytes). */
export class Tensor {
  constructor(data, shape, dtype = "f32", name = "") {
    checkDtype(dtype);
    this.shape = Array.from(shape, Number);
    const expected = product(this.shape) * DTYPES[dtype][2];
    if (data.byteLength !== expected) {
      throw new RangeError(
        `tensor ${name || "(unnamed)"}: ${data.byteLength} bytes, but shape [${this.shape}] of ${dtype} needs ${expected}`,
      );
    }
    this.data = new Uint8Array(data.buffer ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data);
    this.dtype = dtype;
    this.name = name;
  }

  /** A tensor of `values` (flat, row-major), shaped `[values.length]` unless `shape` says. */
  static fromArray(values, shape = undefined, dtype = "f32", name = "") {
    checkDtype(dtype);
    const list = Array.from(values);
    shape = shape === undefined ? [list.length] : Array.from(shape);
    if (list.length !== product(shape)) {
      throw new RangeError(`${list.length} values do not fill shape [${shape}]`);
    }
    const Typed = DTYPES[dtype][1];
    let bytes;
    if (Typed === BigInt64Array) {
      bytes = new Uint8Array(BigInt64Array.from(list, (v) => BigInt(Math.trunc(Number(v)))).buffer);
    } else if (Typed) {
      bytes = new Uint8Array(Typed.from(list).buffer);
    } else {
      const halves = Uint16Array.from(list, dtype === "f16" ? toHalf : toBfloat16);
      bytes = new Uint8Array(halves.buffer);
    }
    return new Tensor(bytes, shape, dtype, name);
  }

  /** The elements as a flat array of numbers, row-major. */
  toArray() {
    const Typed = DTYPES[this.dtype][1];
    const buffer = this.data.slice().buffer;
    if (Typed === BigInt64Array) return Array.from(new BigInt64Array(buffer), Number);
    if (Typed) return Array.from(new Typed(buffer));
    return Array.from(new Uint16Array(buffer), this.dtype === "f16" ? fromHalf : fromBfloat16);
  }

  toWit() {
    return {
      name: this.name,
      dimensions: Uint32Array.from(this.shape),
      ty: DTYPES[this.dtype][0],
      data: this.data,
    };
  }

  static fromWit(tensor) {
    return new Tensor(tensor.data, Array.from(tensor.dimensions), BY_WIT[tensor.ty], tensor.name);
  }
}

/** The tensor called `name`, with an error that lists the names there are. */
export function output(tensors, name) {
  const found = tensors.find((t) => t.name === name);
  if (found) return found;
  const names = tensors.map((t) => t.name || "(unnamed)").join(", ");
  throw new RangeError(`the model has no output "${name}"; it has ${names}`);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

// bfloat16 is the upper half of a float32 (truncated, as the Python SDK does).
function toBfloat16(value) {
  f32[0] = value;
  return u32[0] >>> 16;
}

function fromBfloat16(half) {
  u32[0] = half << 16;
  return f32[0];
}

// IEEE 754 half precision, rounding to nearest even.
function toHalf(value) {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const middle = 1 << (shift - 1);
    if (rest > middle || (rest === middle && half & 1)) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half += 1;
  return sign | half;
}

function fromHalf(half) {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
