// Errors for calls into the platform that failed, one class per case of the WIT `error` variant,
// and the one-line description of an error that leaves an export.

/** A call into the platform failed; the message says why. */
export class TrellisError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}

/** The role is not in the app's manifest, or has no instance bound to it. */
export class UnknownRole extends TrellisError {}
/** The model is not in the app's manifest, or is not deployed. */
export class UnknownModel extends TrellisError {}
/** An argument was malformed; the message says which and why. */
export class InvalidInput extends TrellisError {}
/** A limit was reached, such as a payload size or the state store's quota. */
export class LimitExceeded extends TrellisError {}
/** The backend behind the call failed; trying again later may work. */
export class Unavailable extends TrellisError {}

const BY_TAG = {
  "unknown-role": UnknownRole,
  "unknown-model": UnknownModel,
  "invalid-input": InvalidInput,
  "limit-exceeded": LimitExceeded,
  unavailable: Unavailable,
};

/** Calls a generated binding, turning the error it throws (whose `payload` is the WIT `error`)
 * into the matching TrellisError. */
export function call(binding, ...args) {
  try {
    return binding(...args);
  } catch (error) {
    const payload = error && error.payload;
    if (payload && typeof payload.tag === "string") {
      throw new (BY_TAG[payload.tag] || TrellisError)(String(payload.val));
    }
    throw error;
  }
}

/** One line for the host: the error's name, its message and, when the engine says, the
 * function that threw it. */
export function describe(error) {
  if (!(error instanceof Error)) {
    return `uncaught ${typeof error === "string" ? JSON.stringify(error) : String(error)}`;
  }
  const head = error.message ? `${error.name}: ${error.message}` : error.name;
  const where = whereThrown(error);
  return where ? `${head} (${where})` : head;
}

// SpiderMonkey's stack lines read `function@file:line:column`; the first one outside this SDK
// is the app's code that threw.
function whereThrown(error) {
  const frames = String(error.stack || "")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  const frame = frames.find((f) => !f.startsWith("call@") && !f.startsWith("guard/")) || frames[0];
  if (!frame) return "";
  const at = frame.lastIndexOf("@");
  const fn = at > 0 ? frame.slice(0, at) : "";
  const place = original(frame.slice(at + 1));
  return fn ? `in ${fn} at ${place}` : `at ${place}`;
}

// `bundle.js:87:9` as the project's `app.js:31`, through the table the build appends to the
// bundle; as it is when there is none.
function original(place) {
  const match = /:(\d+):\d+$/.exec(place);
  const table = globalThis[Symbol.for("trellis.source-lines")];
  const found = match && table && table.lines[Number(match[1]) - 1];
  return found ? `${table.files[found[0]]}:${found[1]}` : place.replace(/^.*\//, "");
}
