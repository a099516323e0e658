"""Analytic energy-saving estimates of the papers axmac is built from, for comparison with measurement.

**Ma & Jiao, Eq. 1** (seed 001, Sec. IV-B): with ``p_m`` / ``p_a`` the fractions of MUL / ADD
operations that are trivial (Table II), ``E_fm`` / ``E_fa`` the energy of a full multiplication /
addition and ``E_bm`` / ``E_ba`` the energy of bypassing one::

    eps = (p_m (E_fm - E_bm) + p_a (E_fa - E_ba)) / (E_fm + E_fa)

and per case (Eq. 2) ``eps_i = p_i (E_fi - E_bi) / (E_fm + E_fa)``. Their Table V (FP32 FPU,
fJ): ``E_fm = 9891``, ``E_fa = 4742``, ``E_bm = 12.5``, ``E_ba = 23.7`` (12.2 without case (e));
with MNIST's Table II (``(a) 15.35 %``, ``(b) 24.17 %``, ``(d) 21.02 %``) Eq. 1 gives 33.5 %
and case (a) alone 10.37 %, as the paper reports.

**Thesis, Eq. 4.1** (seed 000, Sec. 4.5): ``R = 0.9 * 0.8 * X * Y``, with ``X`` the saving of the
replaced multiplier relative to the precise one, ``Y`` the fraction of multiplications replaced,
0.9 the share of the work in convolutions and 0.8 the multiplier's share of a MAC's energy (its
Table 4.2: power-delay products of a 9-bit multiplier and a 32-bit adder, 1.381 and 0.382).
For bypass, a bypassed multiplication is a replaced one: ``Y = p_m`` and ``X = 1 - E_bm / E_fm``.

Both count only the arithmetic: every operation is either done or skipped, the skipped one
costs only the bypass circuit, and registers, clock, multiplexers and the detection logic's
activity on every cycle are outside the model (see :func:`analytic_savings`).
"""

from __future__ import annotations

from ..golden.bypass import Bypass
from ..golden.stats import TrivialStats

#: Ma & Jiao, Table V: energy per operation (fJ), 45 nm FP32 FPU and their bypass circuits.
MA_JIAO_TABLE_V = {"mul": 9891.0, "add": 4742.0, "bypass_mul": 12.5, "bypass_add": 23.7, "bypass_add_no_e": 12.2}
#: Ma & Jiao, Table II: fractions of trivial computations per case on MNIST.
MA_JIAO_TABLE_II_MNIST = {"zero": 0.1535, "one": 0.2417, "add_zero": 0.2102, "opposite": 0.0}
#: Thesis Eq. 4.1 constants: share of work in convolutions, multiplier share of a MAC's energy.
THESIS_CONV_SHARE, THESIS_MUL_SHARE = 0.9, 0.8


def eq1(p_mul: float, p_add: float, e_mul: float, e_add: float, e_bypass_mul: float, e_bypass_add: float) -> float:
    """Ma & Jiao Eq. 1: the fraction of MAC energy saved by bypassing (module docstring)."""
    return (p_mul * (e_mul - e_bypass_mul) + p_add * (e_add - e_bypass_add)) / (e_mul + e_add)


def eq2(p_case: float, e_full: float, e_bypass: float, e_mul: float, e_add: float) -> float:
    """Ma & Jiao Eq. 2: the saving of one case (``e_full``/``e_bypass``: its operation's energies)."""
    return p_case * (e_full - e_bypass) / (e_mul + e_add)


def eq41(x: float, y: float, conv_share: float = THESIS_CONV_SHARE, mul_share: float = THESIS_MUL_SHARE) -> float:
    """Thesis Eq. 4.1: ``R = conv_share * mul_share * X * Y``."""
    return conv_share * mul_share * x * y


def trivial_fractions(stats: TrivialStats, bypass: Bypass) -> tuple[float, float]:
    """``(p_m, p_a)``: fractions of MACs whose MUL / ADD an enabled case bypasses.

    From the golden occurrence counts (detection order (a), (b), (d), (e)); with ``one`` enabled
    but not ``zero``, products with one operand 0 and the other +-1 are counted under (a) and so
    missed here (a slight under-count).
    """
    f = stats.fractions()
    p_mul = (f["zero"] if bypass.zero else 0.0) + (f["one"] if bypass.one else 0.0)
    p_add = (f["add_zero"] if bypass.add_zero else 0.0) + (f["opposite"] if bypass.opposite else 0.0)
    return p_mul, p_add


def analytic_savings(stats: TrivialStats, bypass: Bypass, *, e_mul: float, e_add: float, e_bypass_mul: float,
                     e_bypass_add: float, conv_share: float = THESIS_CONV_SHARE) -> dict[str, float]:
    """Eq. 1 with the given per-operation energies and with Ma & Jiao's FP32 ones, and Eq. 4.1.

    Energies in any one unit. Returns ``p_mul``, ``p_add``, ``eq1`` (given energies),
    ``eq1_paper_energies`` (Table V) and ``eq41`` (``X = 1 - e_bypass_mul / e_mul``, ``Y = p_mul``,
    the thesis's constants except ``conv_share``, which the caller may measure).
    """
    p_mul, p_add = trivial_fractions(stats, bypass)
    t = MA_JIAO_TABLE_V
    e_ba_paper = t["bypass_add"] if bypass.opposite else t["bypass_add_no_e"]
    x = 1.0 - e_bypass_mul / e_mul if e_mul else 0.0
    return {
        "p_mul": p_mul, "p_add": p_add,
        "eq1": eq1(p_mul, p_add, e_mul, e_add, e_bypass_mul, e_bypass_add),
        "eq1_paper_energies": eq1(p_mul, p_add, t["mul"], t["add"], t["bypass_mul"] if bypass.any_mul else 0.0,
                                  e_ba_paper if bypass.add_zero or bypass.opposite else 0.0),
        "eq41": eq41(x, p_mul, conv_share),
    }


__all__ = ["MA_JIAO_TABLE_II_MNIST", "MA_JIAO_TABLE_V", "THESIS_CONV_SHARE", "THESIS_MUL_SHARE", "analytic_savings",
           "eq1", "eq2", "eq41", "trivial_fractions"]
