"""The instance's log, shown to the app's developer and to whoever deployed it.

`print` also reaches it, a line at a time, as `info`.
"""

from wit_world.imports import log as _log


def _write(level, parts):
    _log.write(level, " ".join(str(p) for p in parts))


def trace(*parts):
    _write(_log.Level.TRACE, parts)


def debug(*parts):
    _write(_log.Level.DEBUG, parts)


def info(*parts):
    _write(_log.Level.INFO, parts)


def warn(*parts):
    _write(_log.Level.WARN, parts)


def error(*parts):
    _write(_log.Level.ERROR, parts)
