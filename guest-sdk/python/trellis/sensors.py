"""Readings from the sensor instances bound to the app's sensor roles."""

from wit_world.imports import sensors as _sensors

from .errors import call
from .values import reading_from_wit


def latest(role):
    """The most recent reading for `role`, or None if none has arrived yet."""
    reading = call(_sensors.latest, role)
    return None if reading is None else reading_from_wit(reading)


def history(role, n=10):
    """Up to `n` recent readings for `role`, oldest first."""
    return [reading_from_wit(r) for r in call(_sensors.history, role, n)]


def instances(role):
    """The sensor instances bound to `role`, each with `id`, `location` and `labels`."""
    return call(_sensors.instances, role)
