"""Job bodies that run GEMMs through the array testbench (inside the simulator process).

:func:`run_gemm` sends one (grouped) GEMM: the host program of ``golden/array_program.py``, cut
into chunks of rows that fit the harness's memories (:func:`row_chunks`), each replayed under its
own test-stream patterns and checked beat by beat and cycle by cycle against the golden array
model by :class:`~axmac.sim.array_tb.ArrayTB`; the RTL's ``o`` beats are then assembled into ``Y``
and compared with the program's plain reference (exact GEMM + output stage) where no accumulator
can overflow (:func:`reference_applies`). :func:`gemms_body` is the job body of random GEMMs
(``axmac verify --gemm``, the co-simulation tests and benchmark).

A mismatch raises :class:`~axmac.sim.array_tb.Mismatch` with the GEMM's label and chunk added.
"""

from __future__ import annotations

import time

import numpy as np

from ..config import ArrayConfig
from ..errors import AxmacError
from ..golden.array_program import gemm_program
from ..golden.array_tiles import plan_gemm
from ..golden.bypass import Bypass
from ..golden.multipliers.base import MAX_TABLE_BITS
from ..golden.requant import RequantParams
from .array_model import Stimulus
from .array_tb import Mismatch
from .cosim import report_progress
from .stream import StreamPatterns


def plan_beats(cfg: ArrayConfig, m: int, k: int, n: int, groups: int, params: bool) -> dict:
    """Beats of each stream (and ``o``) of the GEMM's program, from its tile plan alone."""
    plan = plan_gemm(cfg, m, k, n, groups, params=params)
    count = plan.field("count")
    w = cfg.rows * len(count) if cfg.dataflow == "ws" else int(count.sum())
    return {"cmd": len(count), "w": w, "a": int(count.sum()), "qp": plan.commits, "o": plan.out_rows}


def row_chunks(cfg: ArrayConfig, depths: dict, m: int, k: int, n: int, groups: int, params: bool) -> list:
    """``[(m0, m1), ...]``: rows of ``X`` per run so that every stream fits its harness memory
    (``depths``: beats per stream and ``o``). Chunks are whole row blocks of the tiling."""
    step = cfg.acc_depth if cfg.dataflow == "ws" else cfg.rows
    parts = 1
    while True:
        rows = -(-m // parts)
        rows = min(m, -(-rows // step) * step)
        beats = plan_beats(cfg, rows, k, n, groups, params)
        over = max(beats[s] / depths[s] for s in beats)
        if over <= 1:
            return [(m0, min(m, m0 + rows)) for m0 in range(0, m, rows)]
        if rows <= step:
            raise AxmacError(f"one row block of this GEMM (K={k}, N={n}, {groups} groups) needs "
                             f"{max(beats, key=lambda s: beats[s] / depths[s])} beats beyond the harness memory")
        parts = max(parts + 1, int(parts * over) + 1)


def reference_applies(cfg: ArrayConfig, mult, program) -> bool:
    """Whether the plain GEMM reference must equal the array: always for wrapping accumulators
    without requantization (wrap-around addition does not depend on the order); otherwise when no
    partial sum can leave the signed ``A``-bit range, bounded with the multiplier's largest product
    magnitude per activation value (its table, up to 10-bit operands) over the actual ``X``."""
    if cfg.overflow == "wrap" and program.requant is None:
        return True
    x = program.x
    if cfg.bits <= MAX_TABLE_BITS:
        fmt = cfg.operand
        per_a = np.maximum(np.abs(mult.table()).max(axis=1), np.abs(fmt.values()) * max(-fmt.lo, fmt.hi))
        worst = int(per_a[x & fmt.mask].sum(axis=-1).max(initial=0))
    else:
        worst = x.shape[-1] << (2 * cfg.bits)
    return worst + int(np.abs(program.bias).max(initial=0)) < 1 << (cfg.acc_bits - 1)


async def run_gemm(tb, cfg: ArrayConfig, x, w, *, bias=None, requant: RequantParams | None = None,
                   patterns=None, rng: np.random.Generator | None = None, label: str = "gemm",
                   idle: float = 0.3, stall: float = 0.3) -> tuple[np.ndarray, dict]:
    """Run ``Y[g] = X[g] @ W[g]`` (+ bias, requantization) through the RTL; return ``(Y, figures)``.

    ``patterns``: a :class:`StreamPatterns` for every chunk, or ``None`` for fresh random ones
    from ``rng`` with probabilities ``idle``/``stall`` (``idle = stall = 0``: streams keep up).
    """
    x = np.asarray(x, np.int64)
    w = np.asarray(w, np.int64)
    x, w = (x[None], w[None]) if x.ndim == 2 else (x, w)
    G, M, K = x.shape
    N = w.shape[2]
    depths = {p.name: p.depth for p in tb.spec.inputs} | {"o": tb.spec.out_depth}
    params = bias is not None or requant is not None
    ys, figs = [], {"cycles": 0, "runs": 0, "macs": G * M * K * N, "beats": 0, "simulated": 0, "referenced": 0}
    before, t0 = dict(tb.totals), time.perf_counter()
    for ci, (m0, m1) in enumerate(row_chunks(cfg, depths, M, K, N, G, params)):
        program = gemm_program(cfg, x[:, m0:m1], w, bias=bias, requant=requant)
        pats = patterns
        if pats is None:
            keep = idle == stall == 0
            pats = StreamPatterns.keep_up() if keep else StreamPatterns.random(rng, idle=idle, stall=stall)
        try:
            stats, got = await tb.run(Stimulus(program), pats)
            y = program.assemble(got.values)
            if reference_applies(cfg, tb.model.mult, program):
                figs["referenced"] += 1
                want = program.expected(tb.model.mult, Bypass.parse(cfg.bypass))
                bad = np.argwhere(y != want)
                if bad.size:
                    g, m, n = (int(v) for v in bad[0])
                    raise Mismatch({"what": "Y element vs the plain reference", "element": [g, m0 + m, n],
                                    "got": int(y[g, m, n]), "want": int(want[g, m, n]),
                                    "note": "RTL and golden array model agree, the GEMM reference does not"})
        except Mismatch as e:
            e.info.update(gemm=label, run=ci)
            if e.info.get("element"):
                e.info["element"][1] += m0
            raise Mismatch(e.info) from None
        ys.append(y)
        figs["cycles"] += stats["cycles"]
        figs["runs"] += 1
        figs["beats"] += stats["beats"]
        figs["simulated"] += stats["simulated"]
    figs["utilization"] = figs["macs"] / (cfg.pes * figs["cycles"]) if figs["cycles"] else 0.0
    for k in ("sim_seconds", "model_seconds", "check_seconds"):
        figs[k] = tb.totals[k] - before[k]
    figs["seconds"] = time.perf_counter() - t0  # all of it: programs, golden model, simulation, checks
    return np.concatenate(ys, axis=1), figs


def random_operands(rng: np.random.Generator, cfg: ArrayConfig, m: int, k: int, n: int, groups: int = 1,
                    trivial: float = 0.35):
    """``X (G, M, K)`` and ``W (G, K, N)`` in the array's operand format: uniform, except a
    fraction ``trivial`` of 0, +-1 and the extremes (the bypass cases and the overflow corners)."""
    fmt = cfg.operand
    special = np.array(sorted({0, 1, fmt.lo, fmt.hi} | ({-1} if fmt.signed else set())), np.int64)

    def draw(shape):
        v = rng.integers(fmt.lo, fmt.hi + 1, shape)
        pick = rng.random(shape) < trivial
        v[pick] = rng.choice(special, int(pick.sum()))
        return v

    return draw((groups, m, k)), draw((groups, k, n))


def random_params(rng: np.random.Generator, cfg: ArrayConfig, channels: int, requant: bool):
    """Bias (signed, well inside ``A`` bits) and, with ``requant``, requantization parameters."""
    span = 1 << min(cfg.acc_bits - 2, 2 * cfg.bits + 2)
    bias = rng.integers(-span, span, channels)
    if not requant:
        return bias, None
    scale = rng.uniform(0.5, 1.0, channels) * 2.0 ** -rng.integers(cfg.bits, 2 * cfg.bits + 4, channels)
    zp = int(rng.integers(-8, 8))
    return bias, RequantParams.from_scale(scale, zp=zp, dtype=np.int8, relu=bool(rng.integers(0, 2)))


async def gemms_body(tb, *, config: dict, cases: list, seed: int = 0) -> dict:
    """Random GEMMs: each case ``{"m", "k", "n", "groups"=1, "bias"=True, "requant"=False,
    "idle"=0.3, "stall"=0.3}`` (``idle = stall = 0``: streams keep up)."""
    cfg = ArrayConfig.from_dict(config)
    rng = np.random.default_rng(seed)
    out = []
    total = sum(c["m"] * c["k"] * c["n"] * c.get("groups", 1) for c in cases)
    for i, case in enumerate(cases):
        m, k, n, g = case["m"], case["k"], case["n"], case.get("groups", 1)
        x, w = random_operands(rng, cfg, m, k, n, g)
        want_requant = case.get("requant", False) and cfg.output_stage == "requant"
        bias, rq = random_params(rng, cfg, g * n, want_requant) if case.get("bias", True) else (None, None)
        _, figs = await run_gemm(tb, cfg, x, w, bias=bias, requant=rq, rng=rng, label=f"case {i} ({m}x{k}x{n})",
                                 idle=case.get("idle", 0.3), stall=case.get("stall", 0.3))
        out.append(dict(case, **figs))
        report_progress(sum(g["macs"] for g in out), total)
    return {"gemms": out}
