// The base class of an app: `export default class Thermostat extends App { ... }` in `app.js`.

/** Subclass it and override what you need; only `onReading` is required.
 *
 * One object serves the instance's whole life, so fields set in `init` persist between calls
 * (but not across a restart: use `state` for that). */
export class App {
  /** Called once at start with the parameters as an object of name to value. Throw to refuse
   * them. */
  init(config) {}

  /** Called for each reading `{instanceId, role, timestamp, sequence, value}` from a sensor
   * bound to one of the app's roles. */
  onReading(reading) {
    throw new Error("the app does not handle readings (define onReading)");
  }

  /** Called on the deployment's schedule or interval. */
  onTick() {}
}
