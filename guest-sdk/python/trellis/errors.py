"""Exceptions for calls into the platform that failed, one per case of the WIT `error` variant."""

from componentize_py_types import Err


class TrellisError(Exception):
    """A call into the platform failed; the message says why."""


class UnknownRole(TrellisError):
    """The role is not in the app's manifest, or has no instance bound to it."""


class UnknownModel(TrellisError):
    """The model is not in the app's manifest, or is not deployed."""


class InvalidInput(TrellisError):
    """An argument was malformed; the message says which and why."""


class LimitExceeded(TrellisError):
    """A limit was reached, such as a payload size or the state store's quota."""


class Unavailable(TrellisError):
    """The backend behind the call failed; trying again later may work."""


_BY_CASE = {
    "Error_UnknownRole": UnknownRole,
    "Error_UnknownModel": UnknownModel,
    "Error_InvalidInput": InvalidInput,
    "Error_LimitExceeded": LimitExceeded,
    "Error_Unavailable": Unavailable,
}


def call(function, *args):
    """Calls a generated binding, turning its `Err(error)` into the matching TrellisError."""
    try:
        return function(*args)
    except Err as err:
        case = err.value
        raise _BY_CASE.get(type(case).__name__, TrellisError)(getattr(case, "value", case)) from None


def describe(error: BaseException) -> str:
    """One line for the host: the exception's type, its message and where the guest raised it."""
    where = ""
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    if trace is not None:
        code = trace.tb_frame.f_code
        where = f" (at {code.co_filename.rsplit('/', 1)[-1]}:{trace.tb_lineno} in {code.co_name})"
    message = str(error)
    return f"{type(error).__name__}: {message}{where}" if message else f"{type(error).__name__}{where}"
