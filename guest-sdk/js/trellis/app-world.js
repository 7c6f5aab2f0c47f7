// The `app` world's exports, bound to the project's default export. The build's entry module
// calls this with the class from `app.js` and exports the result's functions.

import { App } from "./app.js";
import { Exported, converting } from "./exported.js";
import { paramsFromWit, readingFromWit } from "./values.js";

export function appExports(Impl) {
  const app = new Exported(Impl, App, "app.js");
  return {
    init: (config) => void app.call("init", converting("the parameters", () => paramsFromWit(config))),
    onReading: (reading) =>
      void app.call("onReading", converting("the reading", () => readingFromWit(reading))),
    onTick: () => void app.call("onTick"),
  };
}
