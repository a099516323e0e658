"""The one exception type for bad user input.

Anything raised as :class:`AxmacError` (or a subclass) is a problem with what the user gave us
(an unknown multiplier spec, a malformed table, an ONNX file we cannot read...). The CLI prints
its message as a single line and exits with code 2. Any other exception is a bug in axmac.
"""


class AxmacError(Exception):
    """Bad input: the CLI reports ``str(err)`` on one line and exits with status 2."""


class SpecError(AxmacError, ValueError):
    """A multiplier spec, width or parameter that cannot be honoured."""
