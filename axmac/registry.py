"""Registries filled by importing modules: each family of a registry is one module of a package.

``golden/multipliers`` and ``hw/multipliers`` keep one family per file; a family registers
itself when its module is imported (a class decorator). :func:`load_modules` imports such a
package's family modules once, on first use, so that looking a family up never depends on which
modules someone happened to import before.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

_loaded: set[tuple[str, tuple[str, ...]]] = set()


def load_modules(package: str, modules: Iterable[str]) -> None:
    """Import ``<package>.<module>`` for every name in ``modules`` (the first call does the work)."""
    key = (package, tuple(modules))
    if key in _loaded:
        return
    for mod in key[1]:
        importlib.import_module(f"{package}.{mod}")
    _loaded.add(key)


__all__ = ["load_modules"]
