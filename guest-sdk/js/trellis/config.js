// The parameters the end user set when deploying the app, with the manifest's defaults.

import * as wit from "trellis:platform/config@0.1.0";
import { fromWit, paramsFromWit } from "./values.js";

/** The parameter `name` as a plain value, or `fallback` if the manifest does not declare it. */
export function get(name, fallback = undefined) {
  const value = wit.get(name);
  return value === undefined ? fallback : fromWit(value);
}

/** Every parameter, as an object of name to value. */
export function all() {
  return paramsFromWit(wit.all());
}
