// {{name}}: numbers in as one f32 tensor `input` of shape [1, n]; the model's f32 tensor
// `output` back as numbers. Rename the tensors to match model.toml.

import { Contract, Tensor, output } from "trellis";

export default class {{Type}} extends Contract {
  preprocess(value) {
    const numbers = Array.isArray(value) ? value : [value];
    if (!numbers.every((n) => typeof n === "number")) {
      throw new TypeError(`expected a number or a list of numbers, got ${JSON.stringify(value)}`);
    }
    return [Tensor.fromArray(numbers, [1, numbers.length], "f32", "input")];
  }

  postprocess(tensors) {
    return output(tensors, "output").toArray();
  }
}
