"""Messages to the end user who deployed the app."""

from wit_world.imports import notify as _notify

from .errors import call

_URGENCY = {
    "low": _notify.Urgency.LOW,
    "normal": _notify.Urgency.NORMAL,
    "high": _notify.Urgency.HIGH,
}


def notify(title, body="", urgency="normal"):
    """Sends one notification; `urgency` is "low", "normal" or "high"."""
    if urgency not in _URGENCY:
        raise ValueError(f"urgency {urgency!r}: expected low, normal or high")
    call(_notify.send, _URGENCY[urgency], title, body)
