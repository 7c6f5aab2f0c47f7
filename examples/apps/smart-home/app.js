// A smart home's lamp: on when the room is dark during the schedule's hours, off when it is
// bright or the hours are over. Readings decide at the time they were measured; the tick
// re-checks the schedule with the latest reading, so the lamp goes off at the end of the hours
// even if the light level does not change.

import { App, config, controllers, log, sensors, state } from "trellis";

const LAMP_KEY = "lamp";
const HOUR_MS = 3600 * 1000;

function settings() {
  return {
    threshold: config.get("threshold", 150),
    hysteresis: config.get("hysteresis", 50),
    onFrom: config.get("on-from", 17),
    onUntil: config.get("on-until", 23),
    utcOffset: config.get("utc-offset", 0),
  };
}

/** The local hour (with fractions) at `timestamp` (milliseconds since the epoch, UTC). */
export function localHour(timestamp, utcOffset) {
  const hours = (timestamp + utcOffset * HOUR_MS) / HOUR_MS;
  return ((hours % 24) + 24) % 24;
}

/** Whether `hour` falls within [onFrom, onUntil), which may span midnight. */
export function withinHours(hour, onFrom, onUntil) {
  return onFrom <= onUntil ? hour >= onFrom && hour < onUntil : hour >= onFrom || hour < onUntil;
}

/** Whether the lamp should be on, given whether it is, the light level and the time. */
export function wanted(isOn, lux, timestamp, s) {
  if (!withinHours(localHour(timestamp, s.utcOffset), s.onFrom, s.onUntil)) return false;
  return isOn ? lux < s.threshold + s.hysteresis : lux < s.threshold;
}

export default class SmartHome extends App {
  init() {
    const s = settings();
    for (const [name, hour] of Object.entries({ "on-from": s.onFrom, "on-until": s.onUntil })) {
      if (!(hour >= 0 && hour <= 24)) throw new RangeError(`${name} (${hour}) must be an hour from 0 to 24`);
    }
    if (s.threshold < 0 || s.hysteresis < 0) {
      throw new RangeError(`threshold (${s.threshold}) and hysteresis (${s.hysteresis}) must not be negative`);
    }
    log.info(`lamp on below ${s.threshold} lx from ${s.onFrom}:00 to ${s.onUntil}:00`);
  }

  onReading(reading) {
    if (typeof reading.value !== "number") {
      throw new TypeError(`${reading.instanceId} sent ${JSON.stringify(reading.value)}; expected lux as a number`);
    }
    this.decide(reading.value, reading.timestamp);
  }

  onTick() {
    const latest = sensors.latest("light");
    if (latest !== undefined && typeof latest.value === "number") this.decide(latest.value, Date.now());
  }

  decide(lux, timestamp) {
    const isOn = state.getText(LAMP_KEY, "off") === "on";
    const on = wanted(isOn, lux, timestamp, settings());
    if (on === isOn) return;
    const power = on ? "on" : "off";
    log.info(`${lux} lx at ${new Date(timestamp).toISOString()}: lamp ${power}`);
    controllers.send("lamp", "switch", { power });
    state.set(LAMP_KEY, power);
  }
}
