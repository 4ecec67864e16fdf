"""The stencil of the lattice OI: which grid offsets may be a point's neighbours, nearest
first (pure NumPy; the compiled kernel is :mod:`varda.array.background.oi_lattice`)."""
from __future__ import annotations

import numpy as np

#: neighbours farther than this many covariance scales are not used
CUTOFF = 3.0


def stencil_reach(scale: float, cutoff: float = CUTOFF) -> int:
    """Grid steps the stencil reaches along an axis of covariance scale ``scale``."""
    return int(np.floor(cutoff * scale + 1e-9))


def stencil(scales: "tuple[float, ...]", cutoff: float = CUTOFF) -> np.ndarray:
    """The offsets ``(n, ndim)`` within ``cutoff`` scaled distance of the origin (origin
    excluded), nearest first; equal distances in lexicographic order of the offsets."""
    axes = [np.arange(-stencil_reach(s, cutoff), stencil_reach(s, cutoff) + 1) for s in scales]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(scales))
    d2 = ((grid / np.asarray(scales, float)) ** 2).sum(axis=1)
    keep = (d2 <= cutoff ** 2) & (d2 > 0)
    grid, d2 = grid[keep], d2[keep]
    order = np.lexsort(tuple(grid[:, j] for j in range(grid.shape[1] - 1, -1, -1)) + (d2,))
    return np.ascontiguousarray(grid[order], dtype=np.int64)


__all__ = ["CUTOFF", "stencil", "stencil_reach"]
