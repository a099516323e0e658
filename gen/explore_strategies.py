"""Search strategies of ``axmac explore``: which points to evaluate, given what earlier ones gave.

Each strategy takes the :class:`~axmac.gen.explore_space.Space`, an evaluator (anything with
``evaluate(points, hardware=True, desc=...) -> results`` and ``with_accuracy``; results carry
``point``, ``accuracy``, ``energy_pj``) and a :class:`Pool` collecting every result, and returns
a JSON-ready summary of what it did.

* :func:`uniform` -- every candidate multiplier at full width, and the exact multiplier at every
  narrower width, on all layers, for every bypass set and gating mode (plus the baseline).
* :func:`sensitivity` -- the thesis's layer-by-layer sweep (seed 000, Sec. 5.2): from all-exact,
  one layer at a time takes each other option, the others stay exact.
* :func:`greedy` -- from all-exact, repeatedly apply the one-layer change with the largest
  energy saving per unit of accuracy lost, among the changes that save energy and keep the
  accuracy at or above ``(1 - tolerance)`` times the all-exact accuracy (Moons et al.'s relative
  accuracy); a change that loses no accuracy ranks first, the larger saving first. Stops when no
  change qualifies. Energy strictly falls at every step, so it ends.
* :func:`forward` -- Moons et al.'s own forward sweep (seed 004, Sec. 3.1.2): layer by layer from
  the first, take the option of least energy that keeps the accuracy target, fix it, go on.

The per-layer strategies evaluate the accuracy of all candidates of a step first and the hardware
only of those within the target (the others stay in the pool without energy). Ties are broken by
the point's canonical key, so a search takes the same path on any executor.
"""

from __future__ import annotations

from ..errors import AxmacError
from .explore_space import Point, Space


class Pool:
    """Every result of an exploration by point key, with the strategies that visited it."""

    def __init__(self):
        self.results: dict[str, object] = {}
        self.tags: dict[str, list[str]] = {}

    def add(self, results, tag: str) -> None:
        for r in results:
            k = r.point.key
            old = self.results.get(k)
            if old is None or (getattr(old, "energy_pj", None) is None and r.energy_pj is not None):
                self.results[k] = r
            tags = self.tags.setdefault(k, [])
            if tag not in tags:
                tags.append(tag)

    def __len__(self) -> int:
        return len(self.results)


def uniform(space: Space, ev, pool: Pool) -> dict:
    """The uniform sweep (module docstring)."""
    full = space.full_width
    points = [space.baseline()]
    for b in space.bypasses:
        for g in space.gatings:
            points += [space.uniform(s, full, b, g) for s in space.specs]
            points += [space.uniform("exact", w, b, g) for w in space.widths if w < full]
    points = list(dict.fromkeys(points))
    pool.add(ev.evaluate(points, desc=f"uniform ({len(points)} points)"), "uniform")
    return {"points": [p.key for p in points]}


def _changes(point: Point, space: Space, layers=None) -> list[Point]:
    out = []
    for i in (range(len(space.names)) if layers is None else layers):
        for spec, width in space.layer_options():
            if (spec, width) != (point.specs[i], point.widths[i]):
                out.append(point.with_layer(i, spec, width))
    return out


def sensitivity(space: Space, ev, pool: Pool) -> dict:
    """The layer-by-layer sweep (module docstring)."""
    ref = space.exact()
    points = [ref] + _changes(ref, space)
    res = ev.evaluate(points, desc=f"sensitivity ({len(points)} points)")
    pool.add(res, "sensitivity")
    rows = []
    for r in res[1:]:
        i = next(j for j in range(len(space.names)) if (r.point.specs[j], r.point.widths[j]) !=
                 (ref.specs[j], ref.widths[j]))
        rows.append({"layer": space.names[i], "multiplier": r.point.specs[i], "bits": r.point.widths[i],
                     "point": r.point.key, "accuracy": r.accuracy, "energy_pj": r.energy_pj})
    return {"reference": ref.key, "reference_accuracy": res[0].accuracy, "rows": rows}


def _start(space: Space, ev, pool: Pool, tag: str, tolerance: float):
    if not ev.with_accuracy:
        raise AxmacError(f"the {tag} strategy needs a labelled --dataset (accuracy)")
    if not 0.0 <= tolerance < 1.0:
        raise AxmacError(f"--tolerance must be in [0, 1), not {tolerance}")
    (cur,) = ev.evaluate([space.exact()], desc=f"{tag}: start")
    pool.add([cur], tag)
    return cur, cur.accuracy * (1.0 - tolerance)


def _feasible(cands: list[Point], ev, pool: Pool, tag: str, target: float, desc: str):
    accs = ev.evaluate(cands, hardware=False, desc=f"{desc}: accuracy ({len(cands)})")
    pool.add(accs, tag)
    ok = [r.point for r in accs if r.accuracy >= target]
    full = ev.evaluate(ok, desc=f"{desc}: hardware ({len(ok)})")
    pool.add(full, tag)
    return full


def _score(cur, r) -> tuple:
    saving = cur.energy_pj - r.energy_pj
    loss = cur.accuracy - r.accuracy
    return (loss <= 0, saving if loss <= 0 else saving / loss)


def greedy(space: Space, ev, pool: Pool, *, tolerance: float = 0.01, max_steps: int = 1000) -> dict:
    """The greedy per-layer search (module docstring)."""
    cur, target = _start(space, ev, pool, "greedy", tolerance)
    path = [cur.point.key]
    for step in range(1, max_steps + 1):
        full = _feasible(_changes(cur.point, space), ev, pool, "greedy", target, f"greedy step {step}")
        better = [r for r in full if r.energy_pj < cur.energy_pj]
        if not better:
            break
        # max keeps the first of equal scores: the smallest key
        cur = max(sorted(better, key=lambda r: r.point.key), key=lambda r: _score(cur, r))
        path.append(cur.point.key)
    return {"tolerance": tolerance, "target_accuracy": target, "path": path}


def forward(space: Space, ev, pool: Pool, *, tolerance: float = 0.01) -> dict:
    """Moons et al.'s forward per-layer sweep (module docstring)."""
    cur, target = _start(space, ev, pool, "forward", tolerance)
    path = [cur.point.key]
    for i, name in enumerate(space.names):
        full = _feasible(_changes(cur.point, space, [i]), ev, pool, "forward", target, f"forward {name}")
        better = [r for r in full if r.energy_pj < cur.energy_pj]
        if better:
            cur = min(better, key=lambda r: (r.energy_pj, r.point.key))
            path.append(cur.point.key)
    return {"tolerance": tolerance, "target_accuracy": target, "path": path}


STRATEGIES = {"uniform": uniform, "sensitivity": sensitivity, "greedy": greedy, "forward": forward}
#: strategies that need accuracy
NEED_ACCURACY = ("greedy", "forward")


__all__ = ["NEED_ACCURACY", "STRATEGIES", "Pool", "forward", "greedy", "sensitivity", "uniform"]
