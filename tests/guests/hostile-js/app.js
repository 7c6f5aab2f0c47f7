// A JavaScript guest that misbehaves on purpose. The text of each reading names the attack, as
// in the Rust `hostile` guest, so one component exercises each limit the host enforces.

import { App } from "trellis";

function recurse(depth) {
  return recurse(depth + 1) + 1;
}

const ATTACKS = {
  // A loop that never ends: only the host's deadline stops it.
  spin() {
    let n = 0;
    for (;;) n = (n + 1) | 0;
  },
  // Allocation without end, kept reachable so no collection frees it.
  hoard() {
    const hoard = [];
    for (;;) hoard.push(new Uint8Array(1 << 20).fill(1));
  },
  // An exception nobody catches.
  throw() {
    throw new Error("hostile guest throws on purpose");
  },
  // A thrown value that is not an Error.
  "throw-string"() {
    throw "a plain string";
  },
  recurse() {
    recurse(0);
  },
};

export default class Hostile extends App {
  onReading(reading) {
    const attack = ATTACKS[reading.value];
    if (!attack) throw new RangeError(`unknown attack ${JSON.stringify(reading.value)}`);
    attack();
  }
}
