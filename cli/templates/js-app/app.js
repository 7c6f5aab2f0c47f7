// {{name}}: logs each temperature reading and runs the fan above a threshold.

import { App, config, controllers, log } from "trellis";

export default class {{Type}} extends App {
  onReading(reading) {
    const celsius = reading.value;
    if (typeof celsius !== "number") {
      throw new TypeError(`${reading.instanceId} sent ${JSON.stringify(celsius)}; expected a number`);
    }
    const threshold = Number(config.get("threshold", 24));
    const speed = celsius > threshold ? 2 : 0;
    log.info(`${reading.instanceId} read ${celsius.toFixed(1)} °C: fan speed ${speed}`);
    controllers.send("fan", "set-speed", { speed });
  }
}
