"""{{name}}: logs each temperature reading and runs the fan above a threshold."""

from trellis import App, config, controllers, log


class {{Type}}(App):
    def on_reading(self, reading):
        celsius = reading.value
        if not isinstance(celsius, float):
            raise TypeError(f"{reading.instance_id} sent {celsius!r}; expected a number")
        threshold = float(config.get("threshold", 24.0))
        speed = 2 if celsius > threshold else 0
        log.info(f"{reading.instance_id} read {celsius:.1f} °C: fan speed {speed}")
        controllers.send("fan", "set-speed", speed=speed)
