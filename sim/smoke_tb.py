"""Smoke testbench used by tests/test_runner.py: drives a multiplier with a few vectors."""
import os

import cocotb
from cocotb.triggers import Timer


@cocotb.test()
async def products(dut):
    pairs = [(int(a), int(b)) for a, b in (p.split(",") for p in os.environ["AXMAC_PAIRS"].split(";"))]
    for a, b in pairs:
        dut.a.value = a
        dut.b.value = b
        await Timer(1, unit="ns")
        assert dut.p.value.to_signed() == a * b, (a, b, dut.p.value.to_signed())
