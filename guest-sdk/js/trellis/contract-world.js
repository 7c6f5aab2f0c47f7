// The `contract` world's exports, bound to the project's default export.

import { Contract } from "./contract.js";
import { Exported } from "./exported.js";
import { Tensor } from "./tensors.js";
import { fromWit, toWit } from "./values.js";

export function contractExports(Impl) {
  const contract = new Exported(Impl, Contract, "contract.js");
  return {
    preprocess(input) {
      let tensors = contract.call("preprocess", fromWit(input));
      if (tensors instanceof Tensor) tensors = [tensors];
      if (!Array.isArray(tensors) || !tensors.every((t) => t instanceof Tensor)) {
        throw "preprocess must return an array of Tensor (Tensor.fromArray(values, shape))";
      }
      return tensors.map((t) => t.toWit());
    },
    postprocess(outputs) {
      const answer = contract.call("postprocess", outputs.map(Tensor.fromWit));
      try {
        return toWit(answer);
      } catch (error) {
        throw `postprocess returned a value that is not plain data: ${error.message}`;
      }
    },
  };
}
