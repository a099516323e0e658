"""Bulk RTL regression of the hardware multipliers against their golden models.

One Verilator build checks many multipliers at once: :class:`MultiplierBank` instantiates every
multiplier of one operand format side by side on the same operand wires and concatenates their
products into one wide output. The cocotb test :func:`bank_matches_golden` drives the operand
pairs listed in a case file (``.npz`` written by :func:`write_case`, named by the environment
variable ``AXMAC_MUL_CASE``), reads the wide output once per pair, splits it into the products
of every multiplier with NumPy and compares all of them with the golden products stored in the
case (:func:`compare`). A mismatch names the multiplier, ``a``, ``b``, the RTL product and the
golden one.

Stimulus encoding: ``ab = (a_pattern << n) | b_pattern``, so ``ab = arange(2**(2n))`` enumerates
all pairs in the row-major order of :meth:`Multiplier.table`.

Used by ``tests/test_multipliers_rtl.py`` and ``bench/bench_rtl_regression.py``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from amaranth.hdl import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..golden.multipliers.bam import bam_constants
from ..util import atomic_output

#: at most this many mismatches are spelled out in a failure message.
MAX_REPORTED = 8


class MultiplierBank(wiring.Component):
    """Hardware multipliers side by side on shared operand wires (test wrapper).

    Parameters
    ----------
    components : list of MultiplierComponent
        Any widths and signednesses. Let ``N`` be the largest width.

    Ports
    -----
    ab : In(2N)
        Operand bits. A multiplier of width ``n`` sees ``a = ab[n:2n]`` and ``b = ab[0:n]``, so
        one stimulus word is a valid operand pair for every multiplier (exhaustive for all
        ``n``-bit ones when ``ab`` counts through ``2**(2n)``).
    p : Out(sum of 2n)
        The ``2n``-bit product patterns of the multipliers, concatenated in order (LSB first).

    Combinational, latency 0.
    """

    def __init__(self, components):
        if not components:
            raise ValueError("a multiplier bank needs at least one multiplier")
        self.components = list(components)
        self.widths = [2 * c.model.bits for c in self.components]
        self.extra_sources = list(dict.fromkeys(p for c in components for p in c.extra_sources))
        super().__init__({"ab": In(max(self.widths)), "p": Out(sum(self.widths))})

    def elaborate(self, platform):
        m = Module()
        for i, c in enumerate(self.components):
            n = c.model.bits
            m.submodules[f"mul{i}_{c.model.family}"] = c
            m.d.comb += [c.a.eq(self.ab[n:2 * n]), c.b.eq(self.ab[:n])]
        m.d.comb += self.p.eq(Cat(*(c.p for c in self.components)))
        return m


def write_bank(models, out_dir: str | Path, name: str = "bank") -> list[Path]:
    """Write the Verilog of a bank of the hardware for ``models``; return all its sources.

    The file is rewritten only when its text changes, so an unchanged bank is not rebuilt.
    """
    from ..hw.multipliers import make_hw_multiplier
    from ..verilog import to_verilog

    bank = MultiplierBank([make_hw_multiplier(mdl) for mdl in models])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.v"
    text = to_verilog(bank, name)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return [path, *(Path(p).resolve() for p in bank.extra_sources)]


def lut_file(out_dir: str | Path, bits: int, signed: bool, seed: int = 1) -> Path:
    """A seeded random product table in the ``2n``-bit output range (a ROM test pattern for ``lut:``).

    Written atomically: parallel tests may ask for the same table at once.
    """
    path = Path(out_dir) / f"lut_{'s' if signed else 'u'}{bits}_seed{seed}.npy"
    if not path.exists():
        w = 2 * bits
        lo, hi = (-(1 << (w - 1)), 1 << (w - 1)) if signed else (0, 1 << w)
        t = np.random.default_rng(seed).integers(lo, hi, size=(1 << bits, 1 << bits), dtype=np.int64)
        with atomic_output(path, "wb") as f:
            np.save(f, t)
    return path


def regression_specs(bits: int, signed: bool, work: str | Path, sweep: bool = False,
                     verilog_dir: str | Path | None = None) -> list[str]:
    """Representative specs of every family for one operand format.

    ``bam`` at ``k = n - 2`` and ``n + 2`` and, signed, at each column that holds a constant 1 of
    the Baugh-Wooley array (``k = n`` and ``2n - 1``: the constant in column ``k`` is kept, the
    edge a ``>`` for ``>=`` would break); ``lut`` (a random table from :func:`lut_file`) up to 8
    bits (6 in a sweep); ``verilog`` (when ``verilog_dir`` holds the hand-written test circuits,
    the tests' ``tests/data``): ``approx_mul8_u.v`` and ``approx_mul8_s.v`` at 8 bits,
    ``mul4_narrow.v`` at 4 bits. ``sweep=True`` takes every parameter value instead of one or a
    few per family.
    """
    n = bits
    if sweep:
        specs = ["exact", *(f"trunc:{k}" for k in range(n)), *(f"bam:{k}" for k in range(2 * n)),
                 "mitchell", *(f"mitchw:{w}" for w in range(1, n)), *(f"drum:{k}" for k in range(2, n + 1))]
    else:
        bam_ks = dict.fromkeys([n - 2, n + 2, *bam_constants(n, signed)])
        specs = ["exact", f"trunc:{max(1, n // 4)}", *(f"bam:{k}" for k in bam_ks), "mitchell",
                 f"mitchw:{min(4, n - 1)}", f"drum:{min(4, n)}"]
    if n <= (6 if sweep else 8):  # the sweep leaves out the 7/8-bit ROMs: long Verilator builds
        specs.append(f"lut:{lut_file(work, n, signed)}")
    if verilog_dir is not None:
        data = Path(verilog_dir)
        if n == 8:
            specs += [f"verilog:{data / 'approx_mul8_u.v'}", f"verilog:{data / 'approx_mul8_s.v'}"]
        if n == 4:  # a module with an output narrower than 2n: zero/sign extension in the RTL too
            specs.append(f"verilog:{data / 'mul4_narrow.v'}")
    return specs


def corner_words(bits_list) -> np.ndarray:
    """Stimulus words holding, for each width ``n``, all pairs of the corner patterns
    0, 1, all ones (-1 / max), ``2**(n-1)`` (min / midpoint) and ``2**(n-1) - 1`` (max / below)."""
    words = []
    for n in sorted(set(int(x) for x in bits_list)):
        c = np.array([0, 1, (1 << n) - 1, 1 << (n - 1), (1 << (n - 1)) - 1], dtype=np.uint64)
        words.append((c[:, None] << np.uint64(n) | c[None, :]).ravel())
    return np.concatenate(words)


def run_bank(models, ab: np.ndarray, build_dir: str | Path, expected: np.ndarray | None = None) -> tuple[int, int]:
    """Build (if changed) the bank of ``models`` and check it on stimulus ``ab`` against the golden
    products (or ``expected``). Raises :class:`~axmac.sim.runner.SimulationFailed` on any mismatch.

    Safe in parallel: the bank's Verilog, the build and the run are done under the build folder's
    lock, and the case file is named after its content (``case-<tag>.npz``, deleted after a pass,
    kept after a failure for a rerun). Runs of the same bank share one Verilator model.
    """
    from .runner import build_lock, run_cocotb

    with build_lock(build_dir) as build_dir:
        sources = write_bank(models, build_dir)
        case = write_case(build_dir, models, ab, expected)
        result = run_cocotb(sources=sources, toplevel="bank", test_module="axmac.sim.multiplier_tb",
                            build_dir=build_dir, extra_env={"AXMAC_MUL_CASE": str(case)})
        case.unlink()
    return result


def encode_pairs(a: np.ndarray, b: np.ndarray, bits: int) -> np.ndarray:
    """Operand values -> the bank's ``ab`` input patterns (``uint64``)."""
    mask = (1 << bits) - 1
    return ((np.asarray(a, np.int64) & mask) << bits | (np.asarray(b, np.int64) & mask)).astype(np.uint64)


def decode_pairs(ab: np.ndarray, bits: int, signed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`encode_pairs`: ``ab`` patterns -> operand values ``(a, b)``."""
    ab = np.asarray(ab, dtype=np.int64)
    mask = (1 << bits) - 1
    a, b = (ab >> bits) & mask, ab & mask
    if signed:
        a = np.where(a >> (bits - 1) == 1, a - (1 << bits), a)
        b = np.where(b >> (bits - 1) == 1, b - (1 << bits), b)
    return a, b


def label(model) -> str:
    """``"s8 bam:5"``: how a multiplier is named in reports."""
    return f"{model.fmt} {model.spec}"


def write_case(folder: str | Path, models, ab: np.ndarray, expected: np.ndarray | None = None) -> Path:
    """Save one regression case in ``folder`` and return its path, ``case-<content tag>.npz``:
    the stimulus ``ab`` and, per model, its golden products.

    ``expected`` (``(len(models), len(ab))``) defaults to the models' own products of the pairs
    each of them sees in ``ab``; a test may pass a perturbed one to see the check fail.
    """
    from .runner import content_file

    ab = np.asarray(ab, dtype=np.uint64)
    if expected is None:
        expected = np.stack([mdl(*decode_pairs(ab, mdl.bits, mdl.signed)) for mdl in models])
    expected = np.asarray(expected, dtype=np.int64)
    if expected.shape != (len(models), len(ab)):
        raise ValueError(f"expected must have shape {(len(models), len(ab))}, not {expected.shape}")
    buf = io.BytesIO()
    np.savez(buf, labels=np.array([label(mdl) for mdl in models]), bits=np.array([mdl.bits for mdl in models]),
             signed=np.array([mdl.signed for mdl in models]), ab=ab, expected=expected)
    return content_file(folder, "case", buf.getvalue(), ".npz")


def split_outputs(words: list[int], bits, signed) -> np.ndarray:
    """The bank's wide outputs (Python ints) -> ``(len(bits), len(words))`` ``int64`` products.

    ``bits[i]``/``signed[i]``: format of multiplier ``i`` (its product is ``2*bits[i]`` wide).
    """
    widths = [2 * int(n) for n in bits]
    nbytes = (sum(widths) + 7) // 8
    raw = np.frombuffer(b"".join(x.to_bytes(nbytes, "little") for x in words), dtype=np.uint8)
    bitarr = np.unpackbits(raw.reshape(len(words), nbytes), axis=1, bitorder="little")
    out = np.empty((len(widths), len(words)), dtype=np.int64)
    lo = 0
    for i, (w, s) in enumerate(zip(widths, signed, strict=True)):  # one dot product per multiplier
        v = bitarr[:, lo:lo + w].astype(np.int64) @ (np.int64(1) << np.arange(w, dtype=np.int64))
        out[i] = np.where(v >> (w - 1) == 1, v - (1 << w), v) if s else v
        lo += w
    return out


def compare(labels, a, b, got: np.ndarray, expected: np.ndarray) -> list[str]:
    """Messages for every multiplier whose products differ (empty when all match).

    ``a[i]``, ``b[i]``, ``got[i]``, ``expected[i]``: operands and products of multiplier ``i``.
    Each message names the multiplier, the number of mismatching pairs and the first few as
    ``a * b: got G, expected E``.
    """
    msgs = []
    for spec, x, y, g, e in zip(labels, a, b, np.asarray(got), np.asarray(expected), strict=True):
        bad = np.flatnonzero(g != e)
        if bad.size:
            shown = ", ".join(f"{x[j]} * {y[j]}: got {g[j]}, expected {e[j]}" for j in bad[:MAX_REPORTED])
            msgs.append(f"{spec}: {bad.size} of {g.size} products differ ({shown})")
    return msgs


try:
    import cocotb
    from cocotb.triggers import Timer
except ImportError:  # pragma: no cover - only the helpers above are used without cocotb
    cocotb = None

if cocotb is not None:

    @cocotb.test()
    async def bank_matches_golden(dut):
        """Drive every pair of the case file and compare every multiplier with its golden products."""
        case = np.load(os.environ["AXMAC_MUL_CASE"])
        labels = [str(s) for s in case["labels"]]
        bits, signed = case["bits"].tolist(), case["signed"].tolist()
        stim = [int(x) for x in case["ab"]]
        words = []
        ab, p = dut.ab, dut.p
        for x in stim:
            ab.value = x
            await Timer(1, unit="ns")
            words.append(p.value.to_unsigned())
        got = split_outputs(words, bits, signed)
        ops = [decode_pairs(case["ab"], n, s) for n, s in zip(bits, signed, strict=True)]
        msgs = compare(labels, [o[0] for o in ops], [o[1] for o in ops], got, case["expected"])
        dut._log.info("%d pairs x %d multipliers checked, %d mismatching multipliers",
                      len(stim), len(labels), len(msgs))
        assert not msgs, "RTL != golden: " + "; ".join(msgs)
