"""Inference BatchNormalization as a per-channel affine op, float32 as onnxruntime computes it::

    inv_std = 1 / sqrt(var + epsilon)          new_scale = inv_std * scale
    new_bias = B - mean * new_scale            y = x * new_scale + new_bias

(channel axis 1; each step rounded to the input's float type). Measured equal to onnxruntime's
CPU kernel bit for bit (tests/test_ops.py).
"""

from __future__ import annotations

import numpy as np

from ...errors import AxmacError


def batch_normalization(x, scale, b, mean, var, *, epsilon=1e-5, momentum=0.9, training_mode=0, spatial=1):
    if training_mode:
        raise AxmacError("BatchNormalization: training_mode is not supported (inference only)")
    if not spatial:
        raise AxmacError("BatchNormalization: spatial=0 is not supported")
    dt = x.dtype
    if not np.issubdtype(dt, np.floating):
        raise AxmacError(f"BatchNormalization: input must be a float tensor, not {dt}")
    scale, b, mean, var = (np.asarray(v, dt).reshape(-1) for v in (scale, b, mean, var))
    inv_std = dt.type(1) / np.sqrt(var + dt.type(epsilon))
    new_scale = inv_std * scale
    new_bias = b - mean * new_scale
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return x * new_scale.reshape(shape) + new_bias.reshape(shape)
