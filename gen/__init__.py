"""The command line, Verilog generation flows, synthesis, formal checks and reports.

Importing it loads :mod:`axmac.sim`, whose import registers the simulator behind the
``verilog:`` multiplier family.
"""

from .. import sim  # noqa: F401
