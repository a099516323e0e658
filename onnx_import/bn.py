"""Folding an inference BatchNormalization into the convolution before it.

``f = gamma / sqrt(var + eps)``, ``w' = w * f`` (per output channel), ``b' = (b - mean) * f + beta``
(float64, before the weights are quantized).
"""

from __future__ import annotations

import numpy as np

from ..errors import AxmacError
from .protos import node_attrs


def fold_bn(cx, bn, w, bias):
    """``(w', b')`` of a conv with weight ``w`` (M, C/g, kh, kw) and bias (or None) followed by ``bn``."""
    a = node_attrs(bn)
    if len([o for o in bn.output if o]) != 1 or a.get("training_mode", 0):
        raise AxmacError(f"BatchNormalization node {bn.name!r}: only inference mode can be folded")
    gamma, beta, mean, var = (np.asarray(cx.const(bn, k, nm), np.float64).reshape(-1)
                              for k, nm in ((1, "scale"), (2, "B"), (3, "mean"), (4, "var")))
    f = gamma / np.sqrt(var + float(a.get("epsilon", 1e-5)))
    if f.size != w.shape[0]:
        raise AxmacError(f"BatchNormalization node {bn.name!r}: {f.size} channels for {w.shape[0]} conv outputs")
    b = np.zeros(w.shape[0]) if bias is None else bias.reshape(-1)
    return w * f[:, None, None, None], (b - mean) * f + beta
