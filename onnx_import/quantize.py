"""Post-training static quantization of float Conv/Gemm/MatMul layers.

Each float MAC layer ``y = conv(x, W) + b`` (or ``x @ W + b``) becomes

    x --QuantizeLinear(s_x, 0)--> x_q [--Clip(-2**(b-1), 2**(b-1)-1)--] --MacLayer--> y (float32)

* **weights**: symmetric, zero point 0, ``s_w = max|W| / (2**(b-1) - 1)`` per tensor or per
  output channel, ``W_q = clip(round_half_even(W / s_w), -(2**(b-1) - 1), 2**(b-1) - 1)``; so
  ``|W - s_w W_q| <= s_w / 2``.
* **activations** at each MAC input: symmetric signed, zero point 0,
  ``s_x = a / (2**(b-1) - 1)`` where ``a`` is ``max|x|`` over the calibration set
  (``calibration="max"``) or the ``percentile`` of ``|x|`` (``"percentile"``, e.g. 99.99);
  ``QuantizeLinear`` rounds half to even and saturates to int8 (int16 beyond 8 bits), a ``Clip``
  node narrows to ``b`` bits when ``b`` is not 8 or 16.
* **bias**: ``b_q = round_half_even(b / (s_x s_w))`` (int32-saturated), added to the accumulator.
* **output**: ``dequant`` stage ``y = float32(acc) * float32(s_x * s_w)``: following float ops are
  unchanged. A Gemm bias that is not one value per output column is added in float after it.

Per-layer operand widths ``b`` follow Moons et al. (precision scaling: each layer may run at its
own width, ``layer_bits={"conv1": 6}``); default ``bits=8``. Calibration runs the original float
model with onnxruntime, the MAC inputs exposed as extra graph outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import AxmacError
from ..ir import MacLayer, Node, OperandFormat, OutputStage


@dataclass(frozen=True)
class QuantConfig:
    """Post-training quantization settings (checked on construction)."""

    per_channel: bool = True
    calibration: str = "max"
    percentile: float = 99.99
    bits: int = 8
    layer_bits: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.calibration not in ("max", "percentile"):
            raise AxmacError(f"calibration must be 'max' or 'percentile', not {self.calibration!r}")
        if not 0.0 < float(self.percentile) <= 100.0:
            raise AxmacError(f"percentile must be in (0, 100], not {self.percentile}")
        for name, b in [("bits", self.bits), *((f"layer_bits[{k!r}]", v) for k, v in self.layer_bits.items())]:
            if not isinstance(b, int) or isinstance(b, bool) or not 2 <= b <= 16:
                raise AxmacError(f"{name} must be an integer in 2..16, not {b!r}")

    def bits_of(self, layer: str) -> int:
        return int(self.layer_bits.get(layer, self.bits))

    def check_layers(self, names) -> None:
        unknown = sorted(set(self.layer_bits) - set(names))
        if unknown:
            raise AxmacError(f"layer_bits names unknown float MAC layer(s) {', '.join(unknown)} "
                             f"(layers: {', '.join(names)})")


def symmetric_scale(amax, bits: int) -> np.ndarray:
    """``float32(amax / (2**(bits-1) - 1))``, 1.0 where ``amax`` is 0 (all-zero tensor or channel)."""
    amax = np.asarray(amax, np.float64)
    qmax = (1 << (bits - 1)) - 1
    return np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)


def quantize_weight(w: np.ndarray, bits: int, *, per_channel: bool, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric weight quantization: ``(w_q int64, scale float32)``; scale per ``axis`` or a scalar."""
    w = np.asarray(w, np.float64)
    qmax = (1 << (bits - 1)) - 1
    if per_channel:
        red = tuple(d for d in range(w.ndim) if d != axis)
        scale = symmetric_scale(np.abs(w).max(axis=red) if w.size else np.zeros(w.shape[axis]), bits)
        shape = [1] * w.ndim
        shape[axis] = -1
        s = scale.astype(np.float64).reshape(shape)
    else:
        scale = symmetric_scale(np.abs(w).max() if w.size else 0.0, bits)
        s = np.float64(scale)
    wq = np.clip(np.rint(w / s), -qmax, qmax).astype(np.int64)
    return wq, scale


#: samples per onnxruntime run when the model's batch dimension is symbolic
CALIBRATION_CHUNK = 64


def calibrate(model, tensors: list[str], calibration: dict, cfg: QuantConfig) -> dict[str, float]:
    """Range ``a`` of each tensor in ``tensors`` over the calibration set (max or percentile of ``|x|``).

    ``model`` is the float ``ModelProto`` (static shapes, except perhaps a symbolic batch
    dimension). It runs in onnxruntime with graph optimizations off and ``tensors`` added as graph
    outputs, on consecutive chunks of the calibration samples: the model's batch size when it is
    fixed, else :data:`CALIBRATION_CHUNK` samples (one at a time if the model refuses that).
    """
    import onnx
    import onnxruntime as ort

    if not isinstance(calibration, dict) or not calibration:
        raise AxmacError("calibration data must be a non-empty dict {input_name: array}")
    g = model.graph
    inits = {t.name for t in g.initializer}
    inputs = [i for i in g.input if i.name not in inits]
    feeds_all: dict[str, np.ndarray] = {}
    samples, fixed = None, None
    for inp in inputs:
        if inp.name not in calibration:
            raise AxmacError(f"calibration data has no array for model input {inp.name!r} "
                             f"(has: {', '.join(map(str, calibration))})")
        shape = tuple(d.dim_value if d.HasField("dim_value") else 0 for d in inp.type.tensor_type.shape.dim)
        dt = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(inp.type.tensor_type.elem_type))
        a = np.asarray(calibration[inp.name])
        if shape and a.shape == shape[1:]:
            a = a[None]
        b = shape[0] if shape else 0
        if a.ndim != len(shape) or a.shape[1:] != shape[1:] or (b and a.shape[0] % b) or not a.size:
            shown = "x".join(str(d) if d else "N" for d in shape)
            raise AxmacError(f"calibration array {inp.name!r} has shape {a.shape}; the model input is {shown} "
                             f"(samples along axis 0{f', a multiple of {b}' if b else ''})")
        if samples is not None and a.shape[0] != samples:
            raise AxmacError("calibration arrays have different numbers of samples")
        samples = a.shape[0]
        fixed = b or fixed
        feeds_all[inp.name] = a.astype(dt, copy=False)
    m = onnx.ModelProto()
    m.CopyFrom(model)
    existing = {o.name for o in m.graph.output}
    input_names = {i.name for i in inputs}
    run_names = [t for t in tensors if t not in input_names]
    for t in run_names:
        if t not in existing:
            m.graph.output.append(onnx.helper.make_empty_tensor_value_info(t))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 4  # failures become our one-line error, not onnxruntime's log lines
    try:
        sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001
        raise AxmacError(f"onnxruntime cannot run the float model for calibration: {str(e).splitlines()[0]}") from e
    samples = samples or 0
    chunk = fixed or min(CALIBRATION_CHUNK, max(samples, 1))
    while True:
        ranges = {t: _AbsRange(cfg) for t in tensors}
        for t in tensors:
            if t in input_names:
                ranges[t].add(feeds_all[t].astype(np.float32), feeds_all[t].size)
        try:
            for s0 in range(0, samples if run_names else 0, chunk):
                rows = min(chunk, samples - s0)
                outs = sess.run(run_names, {k: a[s0:s0 + rows] for k, a in feeds_all.items()})
                for t, v in zip(run_names, outs, strict=True):
                    v = np.asarray(v, np.float32)
                    ranges[t].add(v, int(round(v.size * samples / rows)))
        except Exception as e:  # noqa: BLE001
            if chunk > 1 and not fixed:  # e.g. a reshape with the batch baked in: one sample at a time
                chunk = 1
                continue
            raise AxmacError(f"onnxruntime failed on the calibration data: {str(e).splitlines()[0]}") from e
        return {t: r.value() for t, r in ranges.items()}


class _AbsRange:
    """Running ``max|x|`` or exact ``percentile`` of ``|x|`` without keeping every value.

    For the percentile, with ``n`` values in all (known from the first chunk: chunks have equal
    sizes), NumPy's linear interpolation reads the sorted values at ranks ``floor(q)`` and
    ``floor(q) + 1`` with ``q = p/100 * (n - 1)``; only the ``n - floor(q)`` largest values can be
    there, so only those are kept (``np.partition`` after each chunk).
    """

    def __init__(self, cfg: QuantConfig):
        self.cfg = cfg
        self.n = 0
        self.top = np.zeros(0, np.float32)
        self.keep = None

    def add(self, v: np.ndarray, n_total: int) -> None:
        v = np.abs(v).ravel()
        self.n += v.size
        if self.cfg.calibration == "max":
            self.top = np.array([max(float(self.top.max()) if self.top.size else 0.0,
                                     float(v.max()) if v.size else 0.0)], np.float32)
            return
        if self.keep is None:
            q = self.cfg.percentile / 100.0 * (max(n_total, 1) - 1)
            self.keep = int(n_total - np.floor(q)) + 1
        cand = np.concatenate([self.top, v])
        if cand.size > self.keep:
            cand = np.partition(cand, cand.size - self.keep)[cand.size - self.keep:]
        self.top = cand

    def value(self) -> float:
        if self.n == 0:
            return 0.0
        if self.cfg.calibration == "max":
            return float(self.top[0])
        top = np.sort(self.top.astype(np.float64))
        q = self.cfg.percentile / 100.0 * (self.n - 1)
        lo = int(np.floor(q))
        hi = min(lo + 1, self.n - 1)
        offset = self.n - top.size  # sorted rank of top[0]
        v_lo, v_hi = top[max(lo - offset, 0)], top[max(hi - offset, 0)]
        return float(v_lo + (v_hi - v_lo) * (q - lo))


def quantize_layer(fl, x_amax: float | None, cfg: QuantConfig) -> tuple[list, dict[str, np.ndarray]]:
    """A float layer (:class:`~axmac.onnx_import.forms.floating.FloatLayer`) -> ``[QuantizeLinear, (Clip), MacLayer]``.

    ``x_amax`` None means shapes only: the activation scale is a placeholder 1.0.
    """
    bits = cfg.bits_of(fl.name)
    n_out = fl.weight.shape[0] if fl.kind == "conv" else fl.weight.shape[1]
    if fl.bias is not None and np.asarray(fl.bias).size != n_out:
        raise AxmacError(f"layer {fl.name!r}: its bias has {np.asarray(fl.bias).size} elements for {n_out} output "
                         "channels")
    axis = 0 if fl.kind == "conv" else 1
    wq, w_scale = quantize_weight(fl.weight, bits, per_channel=cfg.per_channel, axis=axis)
    x_scale = np.float32(1.0) if x_amax is None else symmetric_scale(x_amax, bits).reshape(())[()]
    zp_dtype = np.int8 if bits <= 8 else np.int16
    p = f"{fl.name}::"
    consts = {p + "x_scale": np.array(x_scale, np.float32), p + "x_zero_point": np.zeros((), zp_dtype)}
    nodes: list = [Node(p + "quantize", "QuantizeLinear", [fl.x, p + "x_scale", p + "x_zero_point"], [p + "xq"])]
    x_in = p + "xq"
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if bits not in (8, 16):
        consts[p + "x_min"] = np.array(lo, zp_dtype)
        consts[p + "x_max"] = np.array(hi, zp_dtype)
        nodes.append(Node(p + "clip", "Clip", [x_in, p + "x_min", p + "x_max"], [p + "xc"]))
        x_in = p + "xc"
    acc_scale = (np.float32(x_scale) * w_scale).astype(np.float32)
    bias = None
    if fl.bias is not None:
        unit = np.float64(x_scale) * w_scale.astype(np.float64)
        info = np.iinfo(np.int32)
        bias = np.clip(np.rint(np.asarray(fl.bias, np.float64).reshape(-1) / unit), info.min, info.max).astype(np.int64)
    fmt = OperandFormat(bits, True)
    y = fl.y if fl.post_bias is None else f"{fl.y}::before_bias"
    layer = MacLayer(name=fl.name, kind=fl.kind, x=x_in, y=y, weight=wq, operand=fmt,
                     output=OutputStage("dequant", scale=acc_scale, dtype=np.dtype(np.float32)),
                     x_zero_point=0, w_zero_point=np.zeros((), np.int64), bias=bias, x_scale=float(x_scale),
                     w_scale=w_scale, source=f"{fl.source} (quantized by axmac, {bits}-bit"
                     f"{', shapes only' if x_amax is None else ''})", **fl.conv)
    nodes.append(layer)
    if fl.post_bias is not None:  # a Gemm bias per row or per element: added in float after the layer
        consts[p + "bias"] = np.asarray(fl.post_bias, np.float32)
        nodes.append(Node(p + "add_bias", "Add", [y, p + "bias"], [fl.y]))
    return nodes + list(fl.post), consts
