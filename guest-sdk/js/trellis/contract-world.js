// The `contract` world's exports, bound to the project's default export.

import { Contract } from "./contract.js";
import { Exported, converting } from "./exported.js";
import { Tensor } from "./tensors.js";
import { fromWit, toWit } from "./values.js";

export function contractExports(Impl) {
  const contract = new Exported(Impl, Contract, "contract.js");
  return {
    preprocess(input) {
      let tensors = contract.call("preprocess", converting("the input", () => fromWit(input)));
      if (tensors instanceof Tensor) tensors = [tensors];
      if (!Array.isArray(tensors) || !tensors.every((t) => t instanceof Tensor)) {
        throw "preprocess must return an array of Tensor (Tensor.fromArray(values, shape))";
      }
      return tensors.map((t) => t.toWit());
    },
    postprocess(outputs) {
      const tensors = converting("the model's outputs", () => outputs.map(Tensor.fromWit));
      const answer = contract.call("postprocess", tensors);
      return converting("postprocess returned a value that is not plain data", () => toWit(answer));
    },
  };
}
