"""RTL regression of every hardware multiplier family against its golden model (cocotb + Verilator).

One :class:`~axmac.sim.multiplier_tb.MultiplierBank` per run puts all multipliers side by side;
the testbench drives the stimulus and compares every product with the golden products in bulk.

* fast: 8-bit signed and unsigned, every family, all 65,536 pairs (4-bit too, exhaustive on the
  same stimulus, with a Verilog module whose output is narrower than 2n); 12-bit signed and 16-bit
  unsigned with 100k random pairs plus the corner pairs; a deliberately wrong golden table
  makes the check fail, also when it shares the build with a right one at the same time;
* slow: every parameter value of every parametric family at every width 2..8, exhaustively;
  12 and 16 bits, signed and unsigned, with 1M random pairs plus the corners.
"""

import threading
from pathlib import Path

import numpy as np
import pytest

from axmac.golden.multipliers import make_multiplier
from axmac.hw.multipliers import hw_families
from axmac.paths import BUILD_ROOT
from axmac.sim.multiplier_tb import (
    compare,
    corner_words,
    decode_pairs,
    encode_pairs,
    lut_file,
    regression_specs,
    run_bank,
    split_outputs,
)
from axmac.sim.runner import SimulationFailed

pytestmark = pytest.mark.rtl

WORK = BUILD_ROOT / "mulrtl"
DATA = Path(__file__).resolve().parent / "data"


def models_for(formats, sweep=False):
    return [make_multiplier(spec, n, s) for n, s in formats for spec in regression_specs(n, s, WORK, sweep, DATA)]


def exhaustive_words(max_bits):
    return np.arange(1 << (2 * max_bits), dtype=np.uint64)


def random_words(count, max_bits, seed):
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 1 << (2 * max_bits), size=count, dtype=np.uint64)
    return np.concatenate([corner_words([12, 16]), words])


FAST_8 = [(8, True), (8, False), (4, True), (4, False)]
FAST_WIDE = [(12, True), (16, False)]
WIDE = [(12, True), (12, False), (16, True), (16, False)]


def test_every_registered_family_is_covered():
    covered = {m.family for m in models_for([(8, True), (8, False)])}
    assert set(hw_families()) <= covered, f"no regression spec for {sorted(set(hw_families()) - covered)}"


def test_exhaustive_8bit_all_families():
    assert run_bank(models_for(FAST_8), exhaustive_words(8), WORK / "exh8") == (1, 0)


def test_wrong_golden_table_fails():
    """The same bank as above, with one golden product of one multiplier off by one."""
    models = models_for(FAST_8)
    ab = exhaustive_words(8)
    expected = np.stack([m(*decode_pairs(ab, m.bits, m.signed)) for m in models])
    victim = next(i for i, m in enumerate(models) if m.family == "bam")
    expected[victim, 12345] += 1
    with pytest.raises(SimulationFailed):
        run_bank(models, ab, WORK / "exh8", expected=expected)


def test_parallel_runs_share_one_build():
    """Two runs of one bank in one build folder at once (as under ``pytest -n``): the right case
    passes, the wrong one fails; neither sees the other's case file."""
    models = [make_multiplier(spec, 4, s) for s in (True, False) for spec in ("exact", "bam:4")]
    ab = exhaustive_words(4)
    wrong = np.stack([m(*decode_pairs(ab, m.bits, m.signed)) for m in models])
    wrong[1, 77] += 1
    outcome = {}

    def run(name, expected):
        try:
            outcome[name] = run_bank(models, ab, WORK / "parallel", expected=expected)
        except SimulationFailed as e:
            outcome[name] = e

    threads = [threading.Thread(target=run, args=a) for a in (("right", None), ("wrong", wrong))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcome["right"] == (1, 0)
    assert isinstance(outcome["wrong"], SimulationFailed)


def test_random_12_16bit_all_families():
    assert run_bank(models_for(FAST_WIDE), random_words(100_000, 16, seed=12), WORK / "wide_fast") == (1, 0)


@pytest.mark.slow
def test_random_12_16bit_both_signednesses_1m():
    assert run_bank(models_for(WIDE), random_words(1_000_000, 16, seed=16), WORK / "wide") == (1, 0)


@pytest.mark.slow
def test_exhaustive_parameter_sweep_2_to_8bit():
    formats = [(n, s) for n in range(2, 9) for s in (True, False)]
    assert run_bank(models_for(formats, sweep=True), exhaustive_words(8), WORK / "sweep") == (1, 0)


# -- the bulk checker itself (no simulator) --------------------------------------------------

def test_compare_names_family_operands_and_products():
    m = make_multiplier("bam:3", 4, True)
    a, b = decode_pairs(np.arange(256, dtype=np.uint64), 4, True)
    exp = m(a, b)
    got = exp.copy()
    j = int(np.flatnonzero((a == -8) & (b == 5))[0])
    got[j] += 4
    msgs = compare(["s4 bam:3"], [a], [b], got[None], exp[None])
    assert msgs == [f"s4 bam:3: 1 of 256 products differ (-8 * 5: got {exp[j] + 4}, expected {exp[j]})"]
    assert compare(["s4 bam:3"], [a], [b], exp[None], exp[None]) == []


def test_split_outputs_and_pair_encoding_round_trip():
    rng = np.random.default_rng(3)
    fmts = [(3, True), (5, False), (16, True)]
    vals = [rng.integers(-(1 << (2 * n - 1)) if s else 0, 1 << (2 * n - 1) if s else 1 << (2 * n), 50)
            for n, s in fmts]
    words = []
    for k in range(50):  # pack by hand, LSB first, each product as its 2n-bit pattern
        w, lo = 0, 0
        for (n, _), v in zip(fmts, vals, strict=True):
            w |= (int(v[k]) & ((1 << (2 * n)) - 1)) << lo
            lo += 2 * n
        words.append(w)
    got = split_outputs(words, [n for n, _ in fmts], [s for _, s in fmts])
    for row, v in zip(got, vals, strict=True):
        assert (row == v).all()
    a = rng.integers(-128, 128, 100)
    b = rng.integers(-128, 128, 100)
    a2, b2 = decode_pairs(encode_pairs(a, b, 8), 8, True)
    assert (a2 == a).all() and (b2 == b).all()


# -- structure of the generated Verilog (no simulator) ----------------------------------------

@pytest.mark.parametrize("signed", [True, False])
def test_bam_is_a_partial_product_array_without_multiply(signed):
    from axmac.hw.multipliers import make_hw_multiplier
    from axmac.verilog import to_verilog

    text = to_verilog(make_hw_multiplier("bam:5", 8, signed), "bam")
    assert " * " not in text and "pp0" in text and "pp7" in text
    assert "pp0" not in to_verilog(make_hw_multiplier("bam:9", 8, signed), "bam")  # row 0 lies in columns 0..7


def test_lut_rom_verilog_size_at_8_bits():
    from axmac.hw.multipliers import make_hw_multiplier
    from axmac.verilog import to_verilog

    text = to_verilog(make_hw_multiplier(f"lut:{lut_file(WORK, 8, True)}", 8, True), "rom")
    assert text.count("16'h") == 65536 and len(text) < 3_000_000
