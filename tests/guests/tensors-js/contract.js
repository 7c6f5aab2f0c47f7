// A JavaScript contract that shows the SDK's conversions: numbers become one tensor of each
// element type, bytes keep their media type, and the model's tensors come back as arrays.

import { Blob, Contract, Tensor, log } from "trellis";

const DTYPES = ["f16", "f32", "f64", "bf16", "u8", "i32", "i64"];

export default class Tensors extends Contract {
  preprocess(value) {
    if (value instanceof Blob) {
      return [new Tensor(value, [value.length], "u8", value.mediaType)];
    }
    if (Array.isArray(value)) {
      log.info(`${value.length} numbers in ${DTYPES.length} element types`);
      return DTYPES.map((dtype) => Tensor.fromArray(value, [1, value.length], dtype, dtype));
    }
    // Not tensors: the SDK refuses it with a clear error.
    return value;
  }

  postprocess(tensors) {
    return Object.fromEntries(tensors.map((t) => [t.name, { shape: t.shape, dtype: t.dtype, values: t.toArray() }]));
  }
}
