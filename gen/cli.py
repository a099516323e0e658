"""The ``axmac`` command line.

Each subcommand lives in its own module ``axmac.gen.cmd_<name>`` with two functions:
``add_parser(subparsers)`` (declares the subcommand and sets ``func`` on it) and the function it
sets. Heavy imports (Amaranth, onnx, numba...) go inside those functions so ``axmac --help``
stays fast.

Errors: an :class:`axmac.errors.AxmacError` (bad input) is printed on one line as
``axmac: error: ...`` with exit code 2; so are argparse usage errors and a missing input file.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import AxmacError

#: subcommand modules, in the order ``axmac --help`` lists them.
COMMAND_MODULES = ("demo", "multipliers", "schedule", "run", "emulate")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage + message by default)
        raise AxmacError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="axmac", description="RTL generator and verification flow for CNN accelerators "
                "with approximate arithmetic.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.cmd_{name}").add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        rc = args.func(args)
    except AxmacError as e:
        print(f"axmac: error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"axmac: error: no such file: {e.filename or e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `axmac ... --json | head`
        sys.stderr.close()
        return 1
    except KeyboardInterrupt:
        print("axmac: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
