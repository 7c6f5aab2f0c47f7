"""A small key-value store private to the instance; it outlives a restart.

Values are bytes; a string is stored as UTF-8.
"""

from wit_world.imports import state as _state

from .errors import call


def get(key, default=None):
    """The bytes stored under `key`, or `default`."""
    value = call(_state.get, key)
    return default if value is None else value


def set(key, value):
    """Stores `value` (bytes or str) under `key`."""
    call(_state.set, key, value.encode() if isinstance(value, str) else bytes(value))


def delete(key):
    call(_state.delete, key)


def keys():
    return call(_state.keys)
