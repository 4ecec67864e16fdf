"""The patch engine: tile an N-d array into model patches, solve them in batches, blend.

Pure NumPy; the solver is any function ``solve(y, observed) -> x`` on ``(n, *patch)`` arrays.
Overlapping tiles are blended with a smooth weight window, Σ w·x / Σ w, and the parts of tiles
that fall outside the domain are padding treated as unobserved.
"""
from __future__ import annotations

import itertools
from typing import Callable, Sequence

import numpy as np

from varda.array.tiling import AxisGrid, blend_window

#: ``solve(y, observed)``: y float32 ``(n, *patch)`` (values where not observed are arbitrary),
#: observed bool of the same shape; returns the estimate, float32 of the same shape.
SolveFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def blend_patches(y: np.ndarray, valid: np.ndarray, solve: SolveFn, *,
                  grids: Sequence[AxisGrid], origin: Sequence[int],
                  region: Sequence[tuple[int, int]], batch_size: int = 64,
                  windows: "np.ndarray | None" = None) -> np.ndarray:
    """Blend the solver's estimates over every tile that touches ``region``.

    Args:
        y: ``(..., *model_axes)`` float data in raw units, NaN where not observed. It may be a
            piece of a larger array (a dask chunk plus halo).
        valid: bool, same shape as ``y``: False at points that are not part of the field
            (land); they are unobserved for the solver.
        solve: the batched solver (see :data:`SolveFn`).
        grids: the global tile grid of each model axis.
        origin: global index of ``y``'s first element along each model axis.
        region: global ``(start, stop)`` along each model axis of the output.
        batch_size: tiles per call to ``solve``.
        windows: optional bool ``y.shape[:-nd]``: compute only these windows (leading
            indices); the others come back NaN.

    Returns:
        float32 ``(..., *region_sizes)``; NaN only where no tile was computed.
    """
    nd = len(grids)
    lead = y.shape[:y.ndim - nd]
    n_win = int(np.prod(lead, dtype=np.int64))
    local = y.shape[y.ndim - nd:]
    yf = y.reshape((n_win,) + local)
    vf = valid.reshape((n_win,) + local)
    todo = np.ones(n_win, bool) if windows is None else np.asarray(windows, bool).reshape(n_win)
    out_shape = (n_win,) + tuple(hi - lo for lo, hi in region)
    num = np.zeros(out_shape, np.float64)
    den = np.zeros(out_shape, np.float64)
    patch = tuple(g.patch for g in grids)
    weight = np.ones(patch)
    for i, g in enumerate(grids):
        shape = [1] * nd
        shape[i] = g.patch
        weight = weight * blend_window(g.patch, g.tiled).reshape(shape)

    queue: list[tuple[np.ndarray, tuple, tuple, np.ndarray, np.ndarray]] = []

    def flush() -> None:
        if not queue:
            return
        ys = np.concatenate([q[3] for q in queue])
        obs = np.concatenate([q[4] for q in queue])
        xs = np.asarray(solve(ys, obs), dtype=np.float64)
        pos = 0
        for wins, out_sl, tile_sl, _, _ in queue:
            x = xs[pos:pos + len(wins)]
            pos += len(wins)
            w = weight[tile_sl]
            num[(wins,) + out_sl] += w * x[(slice(None),) + tile_sl]
            den[(wins,) + out_sl] += w
        queue.clear()

    starts = [g.starts_touching(lo, hi) for g, (lo, hi) in zip(grids, region)]
    for combo in itertools.product(*starts):
        src, dst, out_sl, tile_sl = [], [], [], []
        for t, g, o, (lo, hi), n_loc in zip(combo, grids, origin, region, local):
            g_lo, g_hi = t, min(t + g.patch, g.n)  # the part of the tile inside the domain
            if g_lo - o < 0 or g_hi - o > n_loc:
                raise AssertionError(f"tile [{t}, {t + g.patch}) is not inside the local data "
                                     f"[{o}, {o + n_loc}): halo too small")
            src.append(slice(g_lo - o, g_hi - o))
            dst.append(slice(0, g_hi - g_lo))
            r_lo, r_hi = max(t, lo), min(t + g.patch, hi)
            out_sl.append(slice(r_lo - lo, r_hi - lo))
            tile_sl.append(slice(r_lo - t, r_hi - t))
        tv = np.zeros((n_win,) + patch, bool)
        tv[(slice(None),) + tuple(dst)] = vf[(slice(None),) + tuple(src)]
        axes = tuple(range(1, nd + 1))
        wins = np.flatnonzero(todo & tv.any(axis=axes))  # skip tiles with nothing to fill
        if wins.size == 0:
            continue
        ty = np.zeros((wins.size,) + patch, np.float32)
        ty[(slice(None),) + tuple(dst)] = yf[(wins,) + tuple(src)]
        obs = tv[wins] & np.isfinite(ty)
        ty[~obs] = 0.0
        queue.append((wins, tuple(out_sl), tuple(tile_sl), ty, obs))
        if sum(len(q[0]) for q in queue) >= batch_size:
            flush()
    flush()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (num / den).astype(np.float32)
    return out.reshape(lead + out_shape[1:])
