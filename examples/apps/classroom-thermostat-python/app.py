"""A smart-classroom thermostat, the Python twin of `classroom-thermostat`: on each temperature
reading it decides whether the fan and the air conditioning should run, and commands them only
when that decision changes."""

from trellis import App, config, controllers, log, state

MODE_KEY = "mode"


def decide(current, celsius, fan_above, ac_above, hysteresis):
    """The next mode; a device is switched back only once the temperature is `hysteresis` below
    its threshold, so it does not flap."""
    if celsius >= ac_above or (current == "cooling" and celsius > ac_above - hysteresis):
        return "cooling"
    if celsius >= fan_above or (current != "off" and celsius > fan_above - hysteresis):
        return "fan"
    return "off"


def thresholds():
    return (
        float(config.get("fan-above", 24.0)),
        float(config.get("ac-above", 27.0)),
        float(config.get("hysteresis", 0.5)),
    )


class Thermostat(App):
    def init(self, params):
        fan_above, ac_above, _ = thresholds()
        if fan_above >= ac_above:
            raise ValueError(f"fan-above ({fan_above:g}) must be below ac-above ({ac_above:g})")
        log.info(f"thermostat ready: fan from {fan_above:g} °C, cooling from {ac_above:g} °C")

    def on_reading(self, reading):
        celsius = reading.value
        if not isinstance(celsius, float):
            raise TypeError(f"{reading.instance_id} sent {celsius!r}; expected a number")
        current = state.get(MODE_KEY, b"off").decode()
        following = decide(current, celsius, *thresholds())
        if following == current:
            return
        log.info(f"{celsius:.1f} °C in {reading.instance_id}: {current} -> {following}")
        apply(following)
        state.set(MODE_KEY, following)


def apply(mode):
    controllers.send("fan", "set-speed", speed=0 if mode == "off" else 2)
    if mode == "cooling":
        controllers.send("ac", "set-mode", mode="cool", setpoint=config.get("ac-setpoint", 22.0))
    else:
        controllers.send("ac", "set-mode", mode="off")
