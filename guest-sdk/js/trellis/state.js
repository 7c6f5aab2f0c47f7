// A small key-value store private to the instance; it outlives a restart. Values are bytes; a
// string is stored as UTF-8.

import * as wit from "trellis:platform/state@0.1.0";
import { call } from "./errors.js";

/** The bytes stored under `key` (a Uint8Array), or undefined. */
export function get(key) {
  return call(wit.get, key);
}

/** The value under `key` as UTF-8 text, or `fallback` when there is none. */
export function getText(key, fallback = undefined) {
  const bytes = get(key);
  return bytes === undefined ? fallback : new TextDecoder().decode(bytes);
}

/** Stores `value` (a string or a Uint8Array) under `key`. */
export function set(key, value) {
  let bytes;
  if (typeof value === "string") bytes = new TextEncoder().encode(value);
  else if (value instanceof Uint8Array) bytes = new Uint8Array(value);
  else throw new TypeError(`state.set("${key}", ...): expected a string or a Uint8Array`);
  call(wit.set, key, bytes);
}

/** Removes `key`; removing a missing key is not an error. */
export function remove(key) {
  call(wit.delete, key);
}

/** Every key in the store, in no particular order. */
export function keys() {
  return call(wit.keys);
}
export { remove as delete };
