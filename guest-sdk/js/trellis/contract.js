// The base class of a model contract: `export default class Digits extends Contract { ... }` in
// `contract.js`.

/** Turns an app's input into the model's tensors, and the model's tensors into an answer. */
export class Contract {
  /** A plain value (number, array, string, Uint8Array, object) -> an array of `Tensor`s. */
  preprocess(value) {
    throw new Error("the contract does not define preprocess");
  }

  /** The model's output `Tensor`s -> the answer, a plain value. */
  postprocess(tensors) {
    throw new Error("the contract does not define postprocess");
  }
}
