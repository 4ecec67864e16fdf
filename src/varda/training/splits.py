"""Training / validation splits in separate blocks of time, so that no validation sample
overlaps a training patch (random patch splits validate on near-copies of training data and
bias the choice of the best epoch and configuration)."""
from __future__ import annotations

import itertools

import numpy as np

from varda.errors import InputError


def time_blocks(n_time: int, *, block: int, val_fraction: float = 0.2,
                seed: int = 0) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Split ``range(n_time)`` into contiguous training and validation segments.

    The axis is cut into blocks of ``block`` steps (the last one takes the remainder); about
    ``val_fraction`` of them, spread over the record (one drawn in each of as many equal parts),
    go to validation. Patches are then cut inside segments, never across.

    Returns:
        ``(train_segments, val_segments)``: lists of ``(start, stop)``.
    """
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    n_blocks = n_time // block
    if n_blocks < 2:
        raise InputError(f"a time axis of {n_time} steps holds fewer than two blocks of {block} "
                         "steps: too short to keep separate validation times; use a longer "
                         "archive or a shorter time window")
    n_val = min(n_blocks - 1, max(1, round(n_blocks * val_fraction)))
    rng = np.random.default_rng(seed)
    edges = np.linspace(0, n_blocks, n_val + 1).astype(int)
    val = {int(rng.integers(a, b)) for a, b in itertools.pairwise(edges) if b > a}
    bounds = [(i * block, (i + 1) * block if i < n_blocks - 1 else n_time) for i in range(n_blocks)]
    return _runs(bounds, [i not in val for i in range(n_blocks)]), \
        _runs(bounds, [i in val for i in range(n_blocks)])


def _runs(bounds: list[tuple[int, int]], take: list[bool]) -> list[tuple[int, int]]:
    """Merge consecutive taken blocks into ``(start, stop)`` segments."""
    out: list[tuple[int, int]] = []
    for (a, b), t in zip(bounds, take):
        if not t:
            continue
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out
