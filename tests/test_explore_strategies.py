"""gen/explore_strategies.py on a stub cost model whose optimum is known (brute force over every
assignment): the greedy search reaches it, the forward sweep makes Moons et al.'s choices, the
sensitivity sweep changes one layer at a time, and no point below the accuracy target is ever sent
to the (expensive) hardware evaluation."""

import itertools
from types import SimpleNamespace

import pytest

from axmac.config import ArrayConfig
from axmac.errors import AxmacError
from axmac.gen.explore_space import Point, Space
from axmac.gen.explore_strategies import Pool, forward, greedy, sensitivity, uniform

NAMES = ("L0", "L1", "L2", "L3")
SPACE = Space(NAMES, ArrayConfig(), specs=("exact", "a", "b"), bypasses=("none",), gatings=("none",), widths=(6,))
OPTIONS = [("exact", 8), ("a", 8), ("b", 8), ("exact", 6)]
# per layer and option: (energy, accuracy loss); all-exact accuracy is 1.0
TABLE = [
    {("exact", 8): (10, 0.0), ("a", 8): (6, 0.004), ("b", 8): (3, 0.02), ("exact", 6): (7, 0.0)},
    {("exact", 8): (10, 0.0), ("a", 8): (5, 0.003), ("b", 8): (4, 0.012), ("exact", 6): (8, 0.001)},
    {("exact", 8): (10, 0.0), ("a", 8): (9, 0.0), ("b", 8): (2, 0.5), ("exact", 6): (9.5, 0.0)},
    {("exact", 8): (1, 0.0), ("a", 8): (0.9, 0.009), ("b", 8): (0.5, 0.2), ("exact", 6): (0.95, 0.0)},
]


class StubEvaluator:
    """Accuracy ``1 - sum of losses``, energy ``sum of energies``; records what reached the hardware."""

    with_accuracy = True

    def __init__(self, table=TABLE):
        self.table = table
        self.hardware_points = []

    def _sum(self, p, k):
        return sum(self.table[i][(s, w)][k] for i, (s, w) in enumerate(zip(p.specs, p.widths, strict=True)))

    def evaluate(self, points, *, hardware=True, desc=""):
        if hardware:
            self.hardware_points += list(points)
        return [SimpleNamespace(point=p, accuracy=1.0 - self._sum(p, 1),
                                energy_pj=float(self._sum(p, 0)) if hardware else None) for p in points]


def brute_optimum(table, target):
    best = None
    for combo in itertools.product(OPTIONS, repeat=len(NAMES)):
        energy = sum(table[i][o][0] for i, o in enumerate(combo))
        acc = 1.0 - sum(table[i][o][1] for i, o in enumerate(combo))
        if acc >= target and (best is None or energy < best[0]):
            best = (energy, combo)
    return best


def point_of(combo):
    return Point(tuple(s for s, _ in combo), tuple(w for _, w in combo))


def test_greedy_reaches_the_optimum_and_never_measures_an_infeasible_point():
    ev, pool = StubEvaluator(), Pool()
    res = greedy(SPACE, ev, pool, tolerance=0.01)
    energy, combo = brute_optimum(TABLE, 0.99)
    assert res["path"][-1] == point_of(combo).key
    assert ev.evaluate([point_of(combo)])[0].energy_pj == energy
    # energy falls at every step; every step keeps the target
    steps = [pool.results[k] for k in res["path"]]
    assert all(b.energy_pj < a.energy_pj for a, b in zip(steps, steps[1:], strict=False))
    assert all(s.accuracy >= res["target_accuracy"] for s in steps)
    assert all(ev.evaluate([p], hardware=False)[0].accuracy >= 0.99 for p in ev.hardware_points[1:])
    assert res["path"][0] == SPACE.exact().key


def test_greedy_takes_free_savings_first_then_the_best_saving_per_accuracy_lost():
    ev, pool = StubEvaluator(), Pool()
    res = greedy(SPACE, ev, pool, tolerance=0.01)
    path = [pool.results[k].point for k in res["path"]]
    e = SPACE.exact()
    want = [e,
            e.with_layer(0, "exact", 6),  # changes that lose nothing first, the largest saving first: 3
            ]
    want.append(want[-1].with_layer(2, "a", 8))  # free: saves 1
    want.append(want[-1].with_layer(3, "exact", 6))  # free: saves 0.05
    want.append(want[-1].with_layer(1, "exact", 6))  # 2 for 0.001 beats a: 5 for 0.003
    want.append(want[-1].with_layer(1, "a", 8))  # 3 for 0.002 beats L0 -> a: 1 for 0.004
    want.append(want[-1].with_layer(0, "a", 8))  # 1 for 0.004; then nothing fits 0.99 and saves
    assert path == want


def test_ties_are_broken_by_the_point_key():
    table = [{o: (10 if o == ("exact", 8) else 5, 0.0) for o in OPTIONS} for _ in NAMES]
    res = greedy(SPACE, StubEvaluator(table), Pool(), tolerance=0.01)
    cands = [SPACE.exact().with_layer(i, s, w) for i in range(4) for s, w in OPTIONS[1:]]
    assert res["path"][1] == min(c.key for c in cands)


def test_forward_sweeps_layer_by_layer_as_moons_et_al():
    res = forward(SPACE, StubEvaluator(), Pool(), tolerance=0.01)
    # L0: cheapest within 0.99 is b (3, loss 0.02)? no: 0.02 > 0.01 -> a (6, 0.004)
    # L1: a (5, +0.003 = 0.007); b would make 0.019 -> a
    # L2: b loses 0.5 -> a (9, no loss)
    # L3: a would make 0.016 -> exact@6 (0.95, no loss)
    want = Point(("a", "a", "a", "exact"), (8, 8, 8, 6))
    assert res["path"][-1] == want.key and len(res["path"]) == 5


def test_sensitivity_changes_one_layer_at_a_time():
    ev, pool = StubEvaluator(), Pool()
    res = sensitivity(SPACE, ev, pool)
    assert res["reference_accuracy"] == 1.0
    assert len(res["rows"]) == len(NAMES) * (len(OPTIONS) - 1)
    for row in res["rows"]:
        i = NAMES.index(row["layer"])
        energy, loss = TABLE[i][(row["multiplier"], row["bits"])]
        assert row["accuracy"] == pytest.approx(1.0 - loss)
        others = sum(t[("exact", 8)][0] for j, t in enumerate(TABLE) if j != i)
        assert row["energy_pj"] == pytest.approx(others + energy)


def test_uniform_covers_every_candidate_once():
    space = Space(NAMES, ArrayConfig(), specs=("exact", "a"), bypasses=("none", "all"), gatings=("none", "icg"),
                  widths=(6, 4))
    ev, pool = StubEvaluator([{**t, ("exact", 4): (1, 0.1)} for t in TABLE]), Pool()
    res = uniform(space, ev, pool)
    # (2 specs + 2 narrower widths) x 2 bypass x 2 gating; the baseline is one of them
    assert len(res["points"]) == len(set(res["points"])) == 16 == len(pool)


def test_per_layer_searches_need_accuracy_and_a_sane_tolerance():
    ev = StubEvaluator()
    with pytest.raises(AxmacError, match="tolerance"):
        greedy(SPACE, ev, Pool(), tolerance=1.5)
    ev.with_accuracy = False
    with pytest.raises(AxmacError, match="needs a labelled --dataset"):
        forward(SPACE, ev, Pool())
