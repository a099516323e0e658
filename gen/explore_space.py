"""The design space of ``axmac explore``: what a design point is and which points a search may visit.

A :class:`Point` fixes, for every MAC layer of the network (in network order), the multiplier spec
and the operand width the layer is quantized to, and for the whole array the trivial-computation
bypass and the gating of the idle multiplier. The array itself (rows, columns, the multipliers'
operand width ``bits``, accumulator width, buffer depth) is the :class:`Space`'s
:class:`~axmac.config.ArrayConfig`, shared by all points.

Widths: every layer of narrower operands (``width < array.bits``) runs on the array's
``bits``-wide multipliers with its operands sign-extended (zero-extended when unsigned): its
accuracy is emulated with the full-width multiplier model on the narrow values, and its energy is
measured on the same PE fed the narrow values. This is precision scaling *without* a
precision-scalable multiplier (Moons et al. model one whose activity drops with the width).

A layer's **options** (:meth:`Space.layer_options`) are every candidate multiplier at full width
and the exact multiplier at every narrower width. A point whose layers use different
multipliers is a PE holding each of them, one selected per layer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from ..config import ArrayConfig, normalize_bypass
from ..errors import AxmacError

GATING_CHOICES = ("none", "enable", "icg")
#: what ``axmac explore`` tries unless told otherwise
DEFAULT_MULTIPLIERS = ("exact", "trunc:2", "bam:6", "mitchell", "mitchw:3", "drum:4", "drum:6")
DEFAULT_BYPASSES = ("none", "all")
DEFAULT_GATINGS = ("none", "enable")
DEFAULT_STRATEGIES = ("uniform", "sensitivity", "greedy")
#: narrower widths tried on a float model (a quantized one keeps its own)
DEFAULT_WIDTHS = (6, 4)


@dataclass(frozen=True, order=True)
class Point:
    """One design point (module docstring); ``specs[i]``/``widths[i]`` belong to MAC layer ``i``."""

    specs: tuple[str, ...]
    widths: tuple[int, ...]
    bypass: str = "none"
    gating: str = "none"

    def __post_init__(self):
        if len(self.specs) != len(self.widths) or not self.specs:
            raise AxmacError("a design point needs one multiplier and one width per MAC layer")
        object.__setattr__(self, "bypass", normalize_bypass(self.bypass))
        if self.gating not in GATING_CHOICES:
            raise AxmacError(f"gating must be one of {', '.join(GATING_CHOICES)}, not {self.gating!r}")

    @property
    def key(self) -> str:
        """A canonical text naming the point (cache keys, tie-breaks, ids)."""
        return json.dumps([list(self.specs), list(self.widths), self.bypass, self.gating], separators=(",", ":"))

    @property
    def multipliers(self) -> tuple[str, ...]:
        """The distinct multiplier specs of the point, sorted."""
        return tuple(sorted(set(self.specs)))

    def with_layer(self, i: int, spec: str, width: int) -> Point:
        specs, widths = list(self.specs), list(self.widths)
        specs[i], widths[i] = spec, width
        return replace(self, specs=tuple(specs), widths=tuple(widths))

    def to_dict(self, names) -> dict:
        return {"multipliers": dict(zip(names, self.specs, strict=True)),
                "bits": dict(zip(names, self.widths, strict=True)), "bypass": self.bypass, "gating": self.gating}

    def label(self, names, full_width: int) -> str:
        """Short human text: ``drum:4`` when uniform, else ``name=spec@width`` per changed layer."""
        bypass = "all" if self.bypass == normalize_bypass("all") else self.bypass
        tail = ("" if bypass == "none" else f" bypass={bypass}") + \
            ("" if self.gating == "none" else f" gating={self.gating}")
        if len(set(self.specs)) == 1 and len(set(self.widths)) == 1:
            w = self.widths[0]
            return f"{self.specs[0]}{'' if w == full_width else f' @{w}b'}{tail}"
        parts = [f"{n}={s}{'' if w == full_width else f'@{w}b'}" for n, s, w in zip(names, self.specs, self.widths,
                                                                                   strict=True)
                 if s != "exact" or w != full_width]
        return (" ".join(parts) or "exact") + tail


def _unique(items) -> tuple:
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True)
class Space:
    """The candidates a search combines (module docstring).

    Parameters
    ----------
    names : tuple of str
        The network's MAC layers, in order.
    array : ArrayConfig
        The array; ``array.multiplier``, ``bypass`` and ``gating`` make the baseline point.
    specs, bypasses, gatings, widths : tuples
        Candidate multipliers, bypass case sets, gating modes and operand widths (``<= array.bits``).
    """

    names: tuple[str, ...]
    array: ArrayConfig
    specs: tuple[str, ...] = ("exact",)
    bypasses: tuple[str, ...] = ("none",)
    gatings: tuple[str, ...] = ("none",)
    widths: tuple[int, ...] = ()

    def __post_init__(self):
        if not self.names:
            raise AxmacError("the model has no MAC layer (Conv / Gemm / MatMul) to explore")
        full = self.array.bits
        widths = tuple(sorted(set(self.widths) | {full}, reverse=True))
        wide = [w for w in widths if w > full]
        if wide:
            raise AxmacError(f"--widths {wide[0]} is wider than the array's {full}-bit multipliers (--bits)")
        if min(widths) < 2:
            raise AxmacError(f"--widths {min(widths)}: operands need at least 2 bits")
        object.__setattr__(self, "widths", widths)
        object.__setattr__(self, "specs", _unique(s.strip() for s in self.specs))
        object.__setattr__(self, "bypasses", _unique(normalize_bypass(b) for b in self.bypasses))
        object.__setattr__(self, "gatings", _unique(self.gatings))
        for g in self.gatings:
            if g not in GATING_CHOICES:
                raise AxmacError(f"unknown gating {g!r} (known: {', '.join(GATING_CHOICES)})")
        if not self.specs or not self.bypasses or not self.gatings:
            raise AxmacError("the space needs at least one multiplier, bypass set and gating mode")

    @property
    def full_width(self) -> int:
        return self.array.bits

    def uniform(self, spec: str, width: int | None = None, bypass: str | None = None,
                gating: str | None = None) -> Point:
        """Every layer on ``spec`` at ``width`` (default: full width), the array's bypass and gating by default."""
        n = len(self.names)
        return Point((spec,) * n, (width or self.full_width,) * n, self.array.bypass if bypass is None else bypass,
                     self.array.gating if gating is None else gating)

    def baseline(self) -> Point:
        """The array as configured: its multiplier at full width on every layer."""
        return self.uniform(self.array.multiplier)

    def exact(self) -> Point:
        """Every layer exact at full width, the array's bypass and gating (where per-layer searches start)."""
        return self.uniform("exact")

    def layer_options(self) -> list[tuple[str, int]]:
        """``(spec, width)`` a layer may take: each spec at full width, exact at each narrower width."""
        opts = [(s, self.full_width) for s in self.specs]
        opts += [("exact", w) for w in self.widths if w < self.full_width]
        return list(dict.fromkeys(opts))

    def to_dict(self) -> dict:
        return {"layers": list(self.names), "multipliers": list(self.specs), "bypass": list(self.bypasses),
                "gating": list(self.gatings), "widths": list(self.widths), "full_width": self.full_width}


def check_specs(space: Space) -> None:
    """Every candidate multiplier must be a known spec at the array's operand format (one-line error)."""
    from ..golden.multipliers import make_multiplier

    for spec in {*space.specs, space.array.multiplier}:
        try:
            make_multiplier(spec, space.array.bits, space.array.signed)
        except AxmacError as e:
            raise AxmacError(f"--multipliers {spec}: {e}") from None


__all__ = ["DEFAULT_BYPASSES", "DEFAULT_GATINGS", "DEFAULT_MULTIPLIERS", "DEFAULT_STRATEGIES", "DEFAULT_WIDTHS",
           "GATING_CHOICES", "Point", "Space", "check_specs"]
