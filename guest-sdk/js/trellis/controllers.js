// Commands to the controller instances bound to the app's controller roles:
// `controllers.send("fan", "set-speed", { speed: 2 })`.

import * as wit from "trellis:platform/controllers@0.1.0";
import { call } from "./errors.js";
import { paramsToWit } from "./values.js";

const command = (name, params) => ({ name, params: paramsToWit(params) });

/** Sends `name` with `params` to every instance bound to `role`. */
export function send(role, name, params = {}) {
  call(wit.send, role, command(name, params));
}

/** Sends `name` with `params` to the one instance `instanceId` bound to `role`. */
export function sendTo(role, instanceId, name, params = {}) {
  call(wit.sendTo, role, instanceId, command(name, params));
}

/** The controller instances bound to `role`, each `{id, location, labels}`. */
export function instances(role) {
  return call(wit.instances, role);
}
