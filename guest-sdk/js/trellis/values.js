// Plain JavaScript values for the WIT `value` variant: a number, an array of numbers, a string,
// bytes (a Uint8Array; a `Blob` keeps its media type), and anything else as JSON.

/** Bytes with a media type, such as a PNG camera frame: `new Blob(bytes, "image/png")`. */
export class Blob extends Uint8Array {
  constructor(data = new Uint8Array(0), mediaType = "application/octet-stream") {
    super(data);
    this.mediaType = mediaType;
  }

  // Slices and maps of a Blob are plain bytes (their media type no longer says what they are).
  static get [Symbol.species]() {
    return Uint8Array;
  }
}

const isNumber = (x) => typeof x === "number";

/** The WIT value for a plain value. */
export function toWit(value) {
  if (isNumber(value)) return { tag: "number", val: value };
  if (typeof value === "string") return { tag: "text", val: value };
  if (value instanceof Blob) {
    return { tag: "bytes", val: { mediaType: value.mediaType, data: new Uint8Array(value) } };
  }
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    return {
      tag: "bytes",
      val: { mediaType: "application/octet-stream", data: new Uint8Array(value) },
    };
  }
  if (value instanceof Float64Array || value instanceof Float32Array) {
    return { tag: "numbers", val: Float64Array.from(value) };
  }
  if (Array.isArray(value) && value.length > 0 && value.every(isNumber)) {
    return { tag: "numbers", val: Float64Array.from(value) };
  }
  const json = JSON.stringify(value);
  return { tag: "json", val: json === undefined ? "null" : json };
}

/** The plain value for a WIT value. */
export function fromWit(value) {
  switch (value.tag) {
    case "numbers":
      return Array.from(value.val);
    case "bytes":
      return new Blob(value.val.data, value.val.mediaType);
    case "json":
      return JSON.parse(value.val);
    default:
      return value.val;
  }
}

/** One measurement: `{instanceId, role, timestamp, sequence, value}`, the timestamp in
 * milliseconds since the Unix epoch and the value plain. */
export function readingFromWit(reading) {
  return {
    instanceId: reading.instanceId,
    role: reading.role,
    timestamp: Number(reading.timestamp),
    sequence: Number(reading.sequence),
    value: fromWit(reading.value),
  };
}

/** An object of name to plain value. */
export function paramsFromWit(params) {
  const object = {};
  for (const { name, value } of params) object[name] = fromWit(value);
  return object;
}

export function paramsToWit(params) {
  return Object.entries(params || {}).map(([name, value]) => ({ name, value: toWit(value) }));
}
