// Readings from the sensor instances bound to the app's sensor roles.

import * as wit from "trellis:platform/sensors@0.1.0";
import { call } from "./errors.js";
import { readingFromWit } from "./values.js";

/** The most recent reading for `role`, or undefined if none has arrived yet. */
export function latest(role) {
  const reading = call(wit.latest, role);
  return reading === undefined ? undefined : readingFromWit(reading);
}

/** Up to `n` recent readings for `role`, oldest first. */
export function history(role, n = 10) {
  return call(wit.history, role, n).map(readingFromWit);
}

/** The sensor instances bound to `role`, each `{id, location, labels}`. */
export function instances(role) {
  return call(wit.instances, role);
}
