"""The ``axmac`` command line.

Adding a command
----------------
1. Write ``gen/cmd_<name>.py`` with ``add_parser(sub)`` and the function it sets as ``func``.
   ``add_parser`` calls ``sub.add_parser(name, parents=[...], help=..., description=...)``:
   take every option the command shares with others from :mod:`axmac.gen.options` (model and
   quantization, arithmetic, dataset, array shape, ``--json``, ``-o/--output`` for a file,
   ``--out-dir`` for a folder); a shared option that is not there yet goes there, not into the
   command. ``help`` is one line, ``description`` plain text (no reST: argparse prints it as is).
2. The command function only parses, calls and prints: the work is a library function in
   ``gen/`` (or deeper) that a test or a script can call without the CLI. Heavy imports (Amaranth,
   onnx, numba...) go inside the functions, so that ``axmac --help`` stays fast.
3. Add ``<name>`` to :data:`COMMAND_MODULES` and a ``tests/test_cli_<name>.py``; the fuzz test
   (``tests/test_fuzz_cli.py``) checks that bad input to it ends in one line.

Errors
------
Bad input raises :class:`axmac.errors.AxmacError` (or a subclass) with a message that names the
CLI option (``--inputs``, not ``inputs=``); :func:`main` prints it as the single line
``axmac: error: ...`` and returns 2, as it does for argparse usage errors. Any other exception is
a bug and is not caught here: it shows its traceback. A warning (``warnings.warn``, e.g. the
importer's note that inference overrides a declared shape) prints as one line ``axmac: warning: ...``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from ..errors import AxmacError

#: subcommand modules, in the order ``axmac --help`` lists them.
COMMAND_MODULES = ("flow", "demo", "multipliers", "info", "schedule", "run", "emulate", "explore", "generate", "verify",
                   "synth", "energy")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage + message by default)
        where = self.prog.removeprefix("axmac").strip()
        raise AxmacError(f"{where}: {message}" if where else message)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("axmac")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="axmac", description="RTL generator and verification flow for CNN accelerators "
                "with approximate arithmetic.")
    p.add_argument("--version", action="version", version=f"axmac {version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.cmd_{name}").add_parser(sub)
    return p


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return "axmac: warning: " + " ".join(str(message).split()) + "\n"


def main(argv: list[str] | None = None) -> int:
    formatwarning, warnings.formatwarning = warnings.formatwarning, _one_line_warning
    try:
        args = build_parser().parse_args(argv)
        rc = args.func(args)
    except AxmacError as e:
        print(f"axmac: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `axmac ... --json | head`
        sys.stderr.close()
        return 1
    except KeyboardInterrupt:
        print("axmac: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = formatwarning
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
