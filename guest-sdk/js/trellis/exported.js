// Holds the one instance of the project's default export and calls its methods for the world's
// exports, turning anything thrown into the export's error.

import { describe } from "./errors.js";

export class Exported {
  // Runs when the component is built (componentize-js runs the module's top level then), so a
  // project that exports no subclass fails the build, not the first call.
  constructor(Impl, Base, file) {
    if (typeof Impl !== "function" || !(Impl.prototype instanceof Base)) {
      throw new TypeError(
        `${file} must \`export default\` a subclass of ${Base.name} (\`export default class ` +
          `Mine extends ${Base.name} { ... }\`); it exports ${describeExport(Impl)}`,
      );
    }
    this.Impl = Impl;
    this.instance = undefined;
  }

  /** Calls `method`, making the instance at the first call. What it throws becomes the
   * export's error: the error's name, message and where it was thrown. */
  call(method, ...args) {
    let result;
    try {
      if (this.instance === undefined) this.instance = new this.Impl();
      result = this.instance[method](...args);
    } catch (error) {
      throw describe(error);
    }
    if (result instanceof Promise) {
      throw `${method} returned a Promise; an app's methods must finish before they return (no async)`;
    }
    return result;
  }
}

function describeExport(value) {
  if (value === undefined) return "nothing by default";
  if (typeof value === "function") return `${value.name || "an anonymous function"}, which does not extend it`;
  return `a ${typeof value}`;
}

/** Runs a conversion before or after the project's method (a tensor whose bytes do not fill its
 * shape, an answer that is not plain data, JSON that does not parse): what it throws becomes the
 * export's error too, named after `what`. */
export function converting(what, convert) {
  try {
    return convert();
  } catch (error) {
    throw typeof error === "string" ? error : `${what}: ${describe(error)}`;
  }
}
