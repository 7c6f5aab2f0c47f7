"""The `app` world's exports, bound to the App subclass in the project's `app.py`."""

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
