"""Finds the one App or Contract subclass the user's module defines and holds its instance."""

import importlib

from componentize_py_types import Err

from .errors import describe


class Exported:
    def __init__(self, module, registry, base):
        # Imported when the component is built, so a missing or ambiguous class fails the build.
        importlib.import_module(module)
        classes = [c for c in registry if c.__module__ == module]
        if len(classes) != 1:
            found = ", ".join(c.__name__ for c in classes) or "none"
            raise TypeError(f"{module}.py must define exactly one subclass of trellis.{base}; found {found}")
        self.cls = classes[0]
        self.instance = None

    def call(self, method, *args):
        """Calls `method` on the instance (made at the first call), turning any exception into
        the `Err` the host reports, with the exception's type, message and line."""
        try:
            if self.instance is None:
                self.instance = self.cls()
            return getattr(self.instance, method)(*args)
        except Exception as error:
            raise Err(describe(error)) from None
