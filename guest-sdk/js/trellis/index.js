// Write Trellis apps and model contracts in JavaScript.
//
//   import { App, controllers, log } from "trellis";
//
//   export default class Echo extends App {
//     onReading(reading) {
//       log.info(reading.role, "says", reading.value);
//       controllers.send("out", "echo", { value: reading.value });
//     }
//   }
//
// `trellis build` bundles `app.js` (or `contract.js`) with this SDK and turns it into a
// component with componentize-js. Values are plain: numbers, arrays of numbers, strings,
// Uint8Array (a `Blob` keeps a media type), and anything else as JSON. A failed platform call
// throws a `TrellisError`; an error thrown out of `onReading` (or any method the platform calls)
// is the call's error, with its name, message and where it was thrown.
//
// Only the app world has sensors, controllers, inference, state, notify and config; a contract
// that uses them fails to build. The build drops what a project does not use.

import * as config from "./config.js";
import * as controllers from "./controllers.js";
import * as inference from "./inference.js";
import * as log from "./log.js";
import * as sensors from "./sensors.js";
import * as state from "./state.js";

export { App } from "./app.js";
export { Contract } from "./contract.js";
export {
  InvalidInput,
  LimitExceeded,
  TrellisError,
  Unavailable,
  UnknownModel,
  UnknownRole,
} from "./errors.js";
export { notify } from "./notify.js";
export { Tensor, output } from "./tensors.js";
export { Blob } from "./values.js";
export { config, controllers, inference, log, sensors, state };
