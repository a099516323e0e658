"""gen/pareto.py: the front against the definition of dominance, brute force, on random points."""

import math

import numpy as np
import pytest

from axmac.errors import AxmacError
from axmac.gen.pareto import dominated, pareto_front


def brute_front(values, senses):
    """Indices no other point dominates (the definition, pair by pair)."""
    def better_eq(a, b, s):
        return a >= b if s == "max" else a <= b

    def better(a, b, s):
        return a > b if s == "max" else a < b

    ok = [i for i, v in enumerate(values) if all(x is not None and not math.isnan(x) for x in v)]
    out = set()
    for i in ok:
        if not any(all(better_eq(values[j][k], values[i][k], s) for k, s in enumerate(senses))
                   and any(better(values[j][k], values[i][k], s) for k, s in enumerate(senses))
                   for j in ok if j != i):
            out.add(i)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_front_is_the_non_dominated_set(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 60)), int(rng.integers(1, 4))
    # small integers: many ties and equal points
    values = rng.integers(0, 6, (n, m)).astype(float).tolist()
    senses = [("max", "min")[int(b)] for b in rng.integers(0, 2, m)]
    front = pareto_front(values, senses)
    assert set(front) == brute_front(values, senses)
    assert len(front) == len(set(front))
    mask = dominated(values, senses)
    assert {i for i in range(n) if not mask[i]} == set(front)


def test_order_is_by_objectives_then_key_whatever_the_input_order():
    rng = np.random.default_rng(3)
    values = rng.integers(0, 5, (40, 2)).astype(float).tolist()
    keys = [f"k{i:03d}" for i in range(40)]
    senses = ["max", "min"]
    a = [keys[i] for i in pareto_front(values, senses, keys)]
    perm = rng.permutation(40)
    b = [keys[perm[i]] for i in pareto_front([values[j] for j in perm], senses, [keys[j] for j in perm])]
    assert a == b
    # sorted: accuracy (max) first, descending; then the key
    vals = {keys[i]: values[i] for i in range(40)}
    assert a == sorted(a, key=lambda k: (-vals[k][0], vals[k][1], k))


def test_equal_points_are_all_on_the_front_and_missing_values_are_left_out():
    values = [[1.0, 2.0], [1.0, 2.0], [1.5, 3.0], [None, 0.0], [float("nan"), 0.0], [2.0, 1.0]]
    front = pareto_front(values, ["min", "min"])
    assert set(front) == {0, 1, 5} and set(front) == brute_front(values, ["min", "min"])


def test_senses_are_checked():
    with pytest.raises(AxmacError, match="sense"):
        pareto_front([[1.0]], ["up"])
    with pytest.raises(AxmacError, match="objective values"):
        pareto_front([[1.0, 2.0], [1.0]], ["min", "min"])
