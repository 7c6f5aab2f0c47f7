"""The parameters the end user set when deploying the app, with the manifest's defaults."""

from wit_world.imports import config as _config

from .values import from_wit, params_from_wit


def get(name, default=None):
    value = _config.get(name)
    return default if value is None else from_wit(value)


def all():
    """Every parameter, as a dict."""
    return params_from_wit(_config.all())
