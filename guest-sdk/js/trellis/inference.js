// Models the app's manifest names, run natively by the host.

import * as wit from "trellis:platform/inference@0.1.0";
import { call } from "./errors.js";
import { Tensor } from "./tensors.js";
import { fromWit, toWit } from "./values.js";

/** The model's answer for `value`, through its contract: a plain value. */
export function predict(model, value) {
  return fromWit(call(wit.predict, model, toWit(value)));
}

/** Runs the model alone on tensors, skipping its contract. */
export function run(model, tensors) {
  return call(wit.run, model, tensors.map((t) => t.toWit())).map(Tensor.fromWit);
}
