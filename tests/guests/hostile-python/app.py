"""A Python guest that misbehaves on purpose. The text of each reading names the attack."""

import sys

from trellis import App


def spin():
    n = 0
    while True:
        n += 1


def hoard():
    kept = []
    while True:
        kept.append(bytearray(1 << 20))


def recurse(n):
    return recurse(n + 1) + 1


class Hostile(App):
    def on_reading(self, reading):
        attack = reading.value
        if attack == "spin":
            spin()
        elif attack == "hoard":
            hoard()
        elif attack == "raise":
            raise RuntimeError("hostile guest raises on purpose")
        elif attack == "recurse":
            recurse(0)
        elif attack == "exit":
            # Not an Exception: the SDK does not turn it into an error, so the instance traps.
            sys.exit("hostile guest exits on purpose")
        elif attack == "read-file":
            try:
                open("/etc/hostname").read()
            except OSError as error:
                raise PermissionError(f"read-file refused: {error}") from None
        else:
            raise ValueError(f"unknown attack {attack!r}")
