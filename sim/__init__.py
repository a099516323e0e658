"""Simulation: cocotb testbenches, the Verilator runner and the tabulation of Verilog multipliers.

Importing this package registers :mod:`.tabulate` as the simulator behind the ``verilog:``
multiplier family of ``axmac.golden``.
"""

from . import tabulate  # noqa: F401  (registers the verilog: table source)
