// The instance's log, shown to the app's developer and to whoever deployed it.
// `console.log` also reaches it, a line at a time, as `info` (`console.error` as `warn`).

import { write } from "trellis:platform/log@0.1.0";

function text(part) {
  if (typeof part === "string") return part;
  if (part instanceof Error) return `${part.name}: ${part.message}`;
  if (part !== null && typeof part === "object") {
    try {
      return JSON.stringify(part, (_, v) => (typeof v === "bigint" ? v.toString() : v));
    } catch {
      return String(part);
    }
  }
  return String(part);
}

const writer = (level) => (...parts) => write(level, parts.map(text).join(" "));

export const trace = writer("trace");
export const debug = writer("debug");
export const info = writer("info");
export const warn = writer("warn");
export const error = writer("error");
