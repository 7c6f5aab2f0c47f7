"""Write Trellis apps and model contracts in Python.

An app subclasses `App` in `app.py`:

    from trellis import App, controllers, log

    class Echo(App):
        def on_reading(self, reading):
            log.info(reading.role, "says", reading.value)
            controllers.send("out", "echo", value=reading.value)

and a contract subclasses `Contract` in `contract.py`. `trellis build` turns either into a
component with componentize-py. Values are plain Python: numbers, lists of numbers, str, bytes
(`Blob` keeps a media type), and dicts or lists as JSON. A failed platform call raises a
`TrellisError`; an exception that leaves `on_reading` (or any export) is the call's error, with
its type, message and line.
"""

from .app import App
from .contract import Contract
from .errors import InvalidInput, LimitExceeded, TrellisError, Unavailable, UnknownModel, UnknownRole
from .tensors import Tensor, output
from .values import Blob, Reading

# `sensors`, `controllers`, `inference`, `state`, `config` and `log` are submodules:
# `from trellis import sensors`. Only the app world has most of them, so none is imported here.


def notify(title, body="", urgency="normal"):
    """Sends one notification to the end user who deployed the app; `urgency` is "low",
    "normal" or "high"."""
    from .notifications import notify as send

    send(title, body, urgency)
