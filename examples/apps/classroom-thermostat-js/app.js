// A smart-classroom thermostat, the JavaScript twin of `classroom-thermostat`: on each
// temperature reading it decides whether the fan and the air conditioning should run, and
// commands them only when that decision changes.

import { App, config, controllers, log, state } from "trellis";

const MODE_KEY = "mode";

/** The next mode; a device is switched back only once the temperature is `hysteresis` below its
 * threshold, so it does not flap. */
export function decide(current, celsius, { fanAbove, acAbove, hysteresis }) {
  if (celsius >= acAbove || (current === "cooling" && celsius > acAbove - hysteresis)) {
    return "cooling";
  }
  if (celsius >= fanAbove || (current !== "off" && celsius > fanAbove - hysteresis)) {
    return "fan";
  }
  return "off";
}

function thresholds() {
  return {
    fanAbove: config.get("fan-above", 24.0),
    acAbove: config.get("ac-above", 27.0),
    hysteresis: config.get("hysteresis", 0.5),
  };
}

function apply(mode) {
  controllers.send("fan", "set-speed", { speed: mode === "off" ? 0 : 2 });
  if (mode === "cooling") {
    controllers.send("ac", "set-mode", { mode: "cool", setpoint: config.get("ac-setpoint", 22.0) });
  } else {
    controllers.send("ac", "set-mode", { mode: "off" });
  }
}

export default class Thermostat extends App {
  init() {
    const { fanAbove, acAbove } = thresholds();
    if (fanAbove >= acAbove) {
      throw new RangeError(`fan-above (${fanAbove}) must be below ac-above (${acAbove})`);
    }
    log.info(`thermostat ready: fan from ${fanAbove} °C, cooling from ${acAbove} °C`);
  }

  onReading(reading) {
    const celsius = reading.value;
    if (typeof celsius !== "number") {
      throw new TypeError(`${reading.instanceId} sent ${JSON.stringify(celsius)}; expected a number`);
    }
    const current = state.getText(MODE_KEY, "off");
    const following = decide(current, celsius, thresholds());
    if (following === current) return;
    log.info(`${celsius.toFixed(1)} °C in ${reading.instanceId}: ${current} -> ${following}`);
    apply(following);
    state.set(MODE_KEY, following);
  }
}
