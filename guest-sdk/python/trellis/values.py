"""Plain Python values to and from the WIT `value` variant.

A number becomes `number`, a list of numbers `numbers`, a string `text`, bytes `bytes` (a `Blob`
keeps its media type) and anything else JSON; coming back, `json` is parsed.
"""

import json
from dataclasses import dataclass

from wit_world.imports import types


class Blob(bytes):
    """Bytes with a media type, such as a PNG camera frame: `Blob(data, "image/png")`."""

    def __new__(cls, data=b"", media_type="application/octet-stream"):
        blob = super().__new__(cls, data)
        blob.media_type = media_type
        return blob


@dataclass
class Reading:
    """One measurement from one sensor instance; `value` is a plain Python value."""

    instance_id: str
    role: str
    timestamp: int
    sequence: int
    value: object


def _is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def to_wit(value):
    """The WIT value for a plain Python value."""
    if _is_number(value):
        return types.Value_Number(float(value))
    if isinstance(value, str):
        return types.Value_Text(value)
    if isinstance(value, Blob):
        return types.Value_Bytes(types.Blob(value.media_type, bytes(value)))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return types.Value_Bytes(types.Blob("application/octet-stream", bytes(value)))
    if isinstance(value, (list, tuple)) and value and all(_is_number(x) for x in value):
        return types.Value_Numbers([float(x) for x in value])
    return types.Value_Json(json.dumps(value))


def from_wit(value):
    """The plain Python value for a WIT value."""
    if isinstance(value, types.Value_Bytes):
        return Blob(value.value.data, value.value.media_type)
    if isinstance(value, types.Value_Json):
        return json.loads(value.value)
    return value.value


def reading_from_wit(reading):
    return Reading(
        reading.instance_id, reading.role, reading.timestamp, reading.sequence, from_wit(reading.value)
    )


def params_from_wit(params):
    """A dict of name to plain value."""
    return {p.name: from_wit(p.value) for p in params}


def params_to_wit(params):
    return [types.Param(name, to_wit(value)) for name, value in params.items()]
