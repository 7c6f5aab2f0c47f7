"""The base class of an app. A module that subclasses it is the app; the build exports it."""

_defined = []


class App:
    """Subclass it and override what you need; only `on_reading` is required.

    One object serves the instance's whole life, so attributes set in `init` persist between
    calls (but not across a restart: use `trellis.state` for that).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _defined.append(cls)

    def init(self, config):
        """Called once at start with the parameters as a dict. Raise to refuse them."""

    def on_reading(self, reading):
        """Called for each reading from a sensor bound to one of the app's roles."""
        raise NotImplementedError("the app does not handle readings (define on_reading)")

    def on_tick(self):
        """Called on the deployment's schedule or interval."""
