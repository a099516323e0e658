"""axmac: an RTL generator and verification flow for CNN accelerators with approximate arithmetic.

The import name ``axmac`` spans the repository's top-level folders: ``axmac.hw`` is ``hw/``,
``axmac.golden`` is ``golden/``, ``axmac.gen`` is ``gen/`` and so on (see ``pyproject.toml``).
"""

from .errors import AxmacError

__version__ = "0.1.0"
__all__ = ["AxmacError", "__version__"]
