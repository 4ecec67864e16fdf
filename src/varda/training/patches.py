"""Training and validation patches of an archive: time blocks that no training patch crosses,
patches cut inside each block, and the tensors :func:`varda.core.fit` takes."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from varda.array.sampling import cut_patches
from varda.core.model import VarModel
from varda.errors import InputError
from varda.training.splits import time_blocks

#: validation samples scored each epoch (a fixed, seeded subset of the validation patches)
MAX_VAL_SAMPLES = 64


def default_step(m: VarModel, stride: "dict[str, int] | None",
                 time_axis: "int | None") -> "list[int] | None":
    """Step between training patches per model axis: ``stride`` where given (half a patch
    elsewhere); by default half a patch, a third of the window along time (``time_axis``: its
    position among the model's axes, or None)."""
    if stride is not None:
        return [int(stride.get(a, max(1, p // 2))) for a, p in zip(m.axes, m.patch_shape)]
    if time_axis is None:
        return None
    step = [max(1, p // 2) for p in m.patch_shape]
    step[time_axis] = max(1, m.patch_shape[time_axis] // 3)
    return step


def cut(arrays: list[np.ndarray], m: VarModel, tpos: "int | None", segs, step):
    """Cut patches from every segment of the time axis (never across segments)."""
    if tpos is None or segs is None:
        return cut_patches(arrays, m.patch_shape, stride=step)
    parts: list[list[np.ndarray]] = [[] for _ in arrays]
    for a, b in segs:
        sub = [np.take(x, np.arange(a, b), axis=tpos) for x in arrays]
        try:
            patches = cut_patches(sub, m.patch_shape, stride=step)
        except InputError:       # a segment shorter than the window
            continue
        for i, c in enumerate(patches):
            parts[i].append(c)
    if not parts[0]:
        raise InputError("no time segment is as long as the model's time window")
    return [np.concatenate(p) for p in parts]


def split_patches(arrays: list[np.ndarray], m: VarModel, *, tpos: "int | None", window: int,
                  step, val_fraction: float, seed: int):
    """``(training patches, validation patches or None, training segments, validation
    segments)``: time blocks of about a tenth of the record (at least the window) go to
    validation (``val_fraction`` of them) or training; without a time axis (or too short a
    record for two blocks) random patches, validated by :func:`varda.core.fit`'s own split."""
    segs_tr = segs_va = None
    if tpos is not None:
        n_time = arrays[0].shape[tpos]
        block = max(window, n_time // 10, 1)
        try:
            segs_tr, segs_va = time_blocks(n_time, block=block, val_fraction=val_fraction,
                                           seed=seed)
        except InputError:
            segs_tr = segs_va = None
    if segs_tr is None:
        return cut_patches(arrays, m.patch_shape, stride=step), None, None, None
    return (cut(arrays, m, tpos, segs_tr, step), cut(arrays, m, tpos, segs_va, step),
            segs_tr, segs_va)


def _to_t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))[:, None]


def as_tensors(arrs: Sequence[np.ndarray], *, supervised: bool, marked: bool):
    """``(x or None, y, mask)`` tensors ``(N, 1, *patch)`` of patches with an observed value:
    ``arrs`` is ``[y, truth?, marks?]``; the mask is the marks where given, else y's finite
    points."""
    y = arrs[0]
    keep = np.isfinite(y).reshape(len(y), -1).any(axis=1)
    y = y[keep]
    x = _to_t(arrs[1][keep]) if supervised else None
    mk = arrs[-1][keep] if marked else np.isfinite(y)
    return x, _to_t(np.nan_to_num(y)), _to_t(mk)


def validation_subset(val: tuple, seed: int) -> "tuple | None":
    """At most :data:`MAX_VAL_SAMPLES` of the validation tensors (a seeded choice), or None
    when there are none."""
    x_va, y_va, m_va = val
    if len(y_va) > MAX_VAL_SAMPLES:
        pick = np.sort(np.random.default_rng(seed).choice(len(y_va), MAX_VAL_SAMPLES,
                                                          replace=False))
        x_va = None if x_va is None else x_va[pick]
        y_va, m_va = y_va[pick], m_va[pick]
    return (x_va, y_va, m_va) if len(y_va) else None
