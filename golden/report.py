"""What :func:`axmac.golden.engine.run_network` reports besides the outputs: per MAC layer its
multiplier, MAC count and trivial-computation statistics; the float layers a quantized model left
in float (executed in float32, not on the array); totals and throughput."""

from __future__ import annotations

from dataclasses import dataclass, field

from .stats import TrivialStats


@dataclass
class LayerReport:
    """What one MAC layer did: its multiplier, MAC count and trivial-computation statistics."""

    name: str
    kind: str
    source: str
    multiplier: str
    operand: str
    macs: int = 0
    stats: TrivialStats | None = None
    #: factor applied to the output scale by bias correction (1.0 = none)
    correction: float = 1.0

    def to_dict(self) -> dict:
        d = {"name": self.name, "kind": self.kind, "source": self.source, "multiplier": self.multiplier,
             "operand": self.operand, "macs": int(self.macs), "correction": float(self.correction)}
        if self.stats is not None:
            d["stats"] = self.stats.to_dict()
            d["fractions"] = self.stats.fractions()
        return d


@dataclass
class FloatLayerReport:
    """A float MAC layer (Conv / Gemm / MatMul left unquantized): not mapped to the array, run in float32."""

    name: str
    op: str
    macs: int = 0

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": "float", "op": self.op, "macs": int(self.macs)}


@dataclass
class Report:
    """Result of :func:`run_network` besides the outputs."""

    layers: list[LayerReport] = field(default_factory=list)
    samples: int = 0
    seconds: float = 0.0
    bypass: str = "none"
    #: with ``trace=True``: every tensor the network computed (graph inputs included), and for
    #: each MAC layer ``"<y>::acc"``, its int64 accumulators (bias added, before the output stage)
    tensors: dict = field(default_factory=dict)
    #: the float Conv / Gemm / MatMul layers a quantized model left in float (run in float32)
    float_layers: list[FloatLayerReport] = field(default_factory=list)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def total(self) -> TrivialStats | None:
        """Sum of the per-layer statistics (``None`` when not collected)."""
        if not self.layers or self.layers[0].stats is None:
            return None
        t = TrivialStats()
        for layer in self.layers:
            t += layer.stats
        return t

    @property
    def macs_per_second(self) -> float:
        return self.macs / self.seconds if self.seconds > 0 else 0.0

    @property
    def float_macs(self) -> int:
        """Multiply-accumulates of the float layers (not on the array, not in :attr:`macs`)."""
        return sum(layer.macs for layer in self.float_layers)

    def to_dict(self) -> dict:
        total = self.total
        d = {"samples": self.samples, "macs": self.macs, "seconds": self.seconds,
             "macs_per_second": self.macs_per_second, "bypass": self.bypass,
             "layers": [layer.to_dict() for layer in self.layers],
             "float_layers": [layer.to_dict() for layer in self.float_layers], "float_macs": self.float_macs}
        if total is not None:
            d["total"] = {"stats": total.to_dict(), "fractions": total.fractions()}
        return d


