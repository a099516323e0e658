"""Shared pytest set-up: ``axmac.sim`` registers the simulator behind ``verilog:`` multipliers."""

import axmac.sim  # noqa: F401
