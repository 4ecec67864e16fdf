"""The tile grid: where the model's patches sit along each axis, anchored to global indices.

Tiles along an axis of global length ``n`` start at ``0, s, 2s, …`` (stride ``s``) until the
last one reaches ``n``; the part of a tile beyond the domain is padding, treated as unobserved.
Because the grid depends only on the *global* index, a chunk of a dask array (plus its halo)
sees exactly the tiles the in-memory run sees, which makes results independent of chunking.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AxisGrid:
    """The tiles of one model axis.

    Attributes:
        n: global length of the axis.
        patch: tile (patch) length.
        stride: distance between tile starts (``patch`` when the axis is not tiled).
    """

    n: int
    patch: int
    stride: int

    @property
    def n_tiles(self) -> int:
        if self.n <= self.patch:
            return 1
        return math.ceil((self.n - self.patch) / self.stride) + 1

    @property
    def tiled(self) -> bool:
        """True when the axis needs more than one tile (and so a halo between chunks)."""
        return self.n_tiles > 1

    @property
    def halo(self) -> int:
        """Halo a chunk needs so that every tile touching it lies inside chunk + halo."""
        return self.patch - 1 if self.tiled else 0

    def starts_touching(self, lo: int, hi: int) -> list[int]:
        """Global starts of the tiles that overlap the global range ``[lo, hi)``."""
        k_lo = max(0, -(-(lo - self.patch + 1) // self.stride))
        k_hi = min(self.n_tiles - 1, (hi - 1) // self.stride)
        return [k * self.stride for k in range(k_lo, k_hi + 1)]


def stride_for(patch: int, overlap: float) -> int:
    """Tile stride for a fractional ``overlap`` in [0, 1) of the patch length."""
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be a fraction in [0, 1), got {overlap}")
    return max(1, int(round(patch * (1.0 - overlap))))


def blend_window(patch: int, tiled: bool) -> np.ndarray:
    """Smooth blending weight along one axis of a tile: sin² bump, > 0 everywhere.

    With a stride of half the patch the sin² weights of neighbouring tiles sum to one; any
    positive weight works because blends are normalised as Σ w·x / Σ w.
    """
    if not tiled:
        return np.ones(patch)
    i = np.arange(patch, dtype=np.float64)
    return np.sin(np.pi * (i + 0.5) / patch) ** 2
