"""The `app` world's exports, bound to the App subclass in the project's `app.py`."""

# componentize-py keeps only the modules imported while it builds, so every app-world module is
# imported here, whether or not the app imports it itself (`trellis.notify` loads its module on
# first call).
from . import config, controllers, inference, log, notifications, sensors, state  # noqa: F401
from .app import _defined
from .exported import Exported
from .values import params_from_wit, reading_from_wit

_app = Exported("app", _defined, "App")


class WitWorld:
    def init(self, config):
        _app.call("init", params_from_wit(config))

    def on_reading(self, reading):
        _app.call("on_reading", reading_from_wit(reading))

    def on_tick(self):
        _app.call("on_tick")
