"""``exact``: the reference multiplier, ``a * b``."""

from __future__ import annotations

import numpy as np

from .base import Multiplier, register


@register
class Exact(Multiplier):
    family = "exact"
    summary = "exact product a*b (the reference)"

    @property
    def is_exact(self) -> bool:
        return True

    def _product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * b
