// Messages to the end user who deployed the app.

import { send } from "trellis:platform/notify@0.1.0";
import { call } from "./errors.js";

const URGENCIES = ["low", "normal", "high"];

/** Sends one notification; `urgency` is "low", "normal" or "high". */
export function notify(title, body = "", urgency = "normal") {
  if (!URGENCIES.includes(urgency)) {
    throw new RangeError(`urgency "${urgency}": expected low, normal or high`);
  }
  call(send, urgency, String(title), String(body));
}
