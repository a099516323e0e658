"""Dtype helpers shared by the kernels: float32, ONNX element types, saturating casts."""

from __future__ import annotations

import numpy as np

F32 = np.float32


def onnx_dtype(code: int) -> np.dtype:
    """NumPy dtype of ONNX element type ``code``."""
    from onnx.helper import tensor_dtype_to_np_dtype

    return np.dtype(tensor_dtype_to_np_dtype(int(code)))


def saturate_cast(v, dtype):
    """Clamp an integer array to ``dtype``'s range (explicit ``np.iinfo`` limits) and cast."""
    info = np.iinfo(dtype)
    return np.clip(v, info.min, info.max).astype(dtype)
