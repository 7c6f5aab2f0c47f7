// Types of the Trellis JavaScript SDK, for editors. The WIT interfaces underneath are described
// by the declarations `trellis build` generates into `.trellis/js/types/`.

/** A value carried by a reading, a command parameter, a config parameter or a model payload:
 * a number, an array of numbers, a string, bytes (a `Blob` keeps its media type), or anything
 * else JSON can hold. */
export type Value = number | number[] | string | Uint8Array | Blob | null | boolean | object;

/** One measurement from one sensor instance. */
export interface Reading {
  /** Registry id of the sensor instance that measured it. */
  instanceId: string;
  /** The role, from the app's manifest, that the instance is bound to. */
  role: string;
  /** When it was measured, in milliseconds since the Unix epoch. */
  timestamp: number;
  /** Increases by one for each reading of the instance. */
  sequence: number;
  value: Value;
}

/** Where a sensor or controller instance is. */
export interface InstanceInfo {
  id: string;
  /** `site/building/room` (parts may be empty). */
  location: string;
  /** `key=value` labels. */
  labels: string[];
}

/** The base class of an app: `export default class Mine extends App { ... }` in `app.js`. */
export class App {
  /** Called once at start with the parameters; throw to refuse them. */
  init(config: Record<string, Value>): void;
  /** Called for each reading from a sensor bound to one of the app's roles. */
  onReading(reading: Reading): void;
  /** Called on the deployment's schedule or interval. */
  onTick(): void;
}

/** The base class of a model contract: `export default class Mine extends Contract { ... }` in
 * `contract.js`. */
export class Contract {
  preprocess(value: Value): Tensor[] | Tensor;
  postprocess(tensors: Tensor[]): Value;
}

export type Dtype = "f16" | "f32" | "f64" | "bf16" | "u8" | "i32" | "i64";

/** A model input or output, laid out as in wasi-nn (little-endian, row-major). */
export class Tensor {
  constructor(data: Uint8Array, shape: number[], dtype?: Dtype, name?: string);
  /** A tensor of `values` (flat, row-major), shaped `[values.length]` unless `shape` says. */
  static fromArray(values: ArrayLike<number>, shape?: number[], dtype?: Dtype, name?: string): Tensor;
  /** The elements as a flat array, row-major. */
  toArray(): number[];
  readonly data: Uint8Array;
  readonly shape: number[];
  readonly dtype: Dtype;
  readonly name: string;
}

/** The tensor called `name`; throws naming the outputs there are. */
export function output(tensors: Tensor[], name: string): Tensor;

/** Bytes with a media type, such as a PNG camera frame. */
export class Blob extends Uint8Array {
  constructor(data?: ArrayLike<number> | ArrayBuffer, mediaType?: string);
  mediaType: string;
}

/** A call into the platform failed; the message says why. */
export class TrellisError extends Error {}
export class UnknownRole extends TrellisError {}
export class UnknownModel extends TrellisError {}
export class InvalidInput extends TrellisError {}
export class LimitExceeded extends TrellisError {}
export class Unavailable extends TrellisError {}

/** Sends one notification to the end user who deployed the app. */
export function notify(title: string, body?: string, urgency?: "low" | "normal" | "high"): void;

export namespace sensors {
  /** The most recent reading for `role`, or undefined if none has arrived yet. */
  export function latest(role: string): Reading | undefined;
  /** Up to `n` (10) recent readings for `role`, oldest first. */
  export function history(role: string, n?: number): Reading[];
  export function instances(role: string): InstanceInfo[];
}

export namespace controllers {
  /** Sends `command` to every instance bound to `role`. */
  export function send(role: string, command: string, params?: Record<string, Value>): void;
  /** Sends `command` to the one instance `instanceId` bound to `role`. */
  export function sendTo(role: string, instanceId: string, command: string, params?: Record<string, Value>): void;
  export function instances(role: string): InstanceInfo[];
}

export namespace inference {
  /** The model's answer for `value`, through its contract. */
  export function predict(model: string, value: Value): Value;
  /** Runs the model alone on tensors, skipping its contract. */
  export function run(model: string, tensors: Tensor[]): Tensor[];
}

export namespace state {
  /** The bytes stored under `key`, or undefined. */
  export function get(key: string): Uint8Array | undefined;
  /** The value under `key` as UTF-8 text, or `fallback`. */
  export function getText(key: string, fallback?: string): string | undefined;
  export function set(key: string, value: string | Uint8Array): void;
  export function remove(key: string): void;
  export { remove as delete };
  export function keys(): string[];
}

export namespace config {
  /** The parameter `name`, or `fallback` if the manifest does not declare it. */
  export function get<T extends Value = Value>(name: string, fallback?: T): T;
  export function all(): Record<string, Value>;
}

export namespace log {
  export function trace(...parts: unknown[]): void;
  export function debug(...parts: unknown[]): void;
  export function info(...parts: unknown[]): void;
  export function warn(...parts: unknown[]): void;
  export function error(...parts: unknown[]): void;
}
