"""Commands to the controller instances bound to the app's controller roles.

`send("fan", "set-speed", speed=2)`; a parameter whose name is not a Python identifier goes in
`params`: `send("lamp", "set", params={"colour-temp": 2700})`.
"""

from wit_world.imports import controllers as _controllers
from wit_world.imports import types

from .errors import call
from .values import params_to_wit


def _command(name, params, args):
    return types.Command(name, params_to_wit({**(params or {}), **args}))


def send(role, command, params=None, **args):
    """Sends `command` to every instance bound to `role`."""
    call(_controllers.send, role, _command(command, params, args))


def send_to(role, instance_id, command, params=None, **args):
    """Sends `command` to the one instance `instance_id` bound to `role`."""
    call(_controllers.send_to, role, instance_id, _command(command, params, args))


def instances(role):
    """The controller instances bound to `role`, each with `id`, `location` and `labels`."""
    return call(_controllers.instances, role)
