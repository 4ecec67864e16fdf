"""Training samples from arrays: cut ``(..., *model_axes)`` arrays into model-sized patches."""
from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from varda.core.model import VarModel, build_model
from varda.errors import InputError


def patch_starts(n: int, patch: int, stride: int) -> list[int]:
    """Start indices of patches of size ``patch`` every ``stride`` along an axis of ``n``
    points, the last one flush with the end so that every point is covered."""
    if n < patch:
        raise InputError(f"an axis of {n} points is shorter than the model's patch ({patch}); "
                         "train on longer data or build the model with a smaller patch_shape")
    starts = list(range(0, n - patch + 1, stride))
    if starts[-1] != n - patch:
        starts.append(n - patch)
    return starts


def cut_patches(arrays: Sequence[np.ndarray], patch: Sequence[int], *,
                stride: Sequence[int] | None = None) -> list[np.ndarray]:
    """Cut each array (same shape ``(..., *axes)``, model axes last) into the same patches.

    Args:
        arrays: arrays of identical shape (e.g. observations and truth).
        patch: patch size along each of the last ``len(patch)`` axes.
        stride: step between patches per axis (default: half a patch).

    Returns:
        one ``(n_patches, *patch)`` array per input, patches in the same order.
    """
    nd = len(patch)
    shape = arrays[0].shape
    if any(a.shape != shape for a in arrays):
        raise InputError(f"arrays to cut differ in shape: {[a.shape for a in arrays]}")
    if len(shape) < nd:
        raise InputError(f"data of shape {shape} has fewer dims than the model's {nd} axes")
    stride = [max(1, p // 2) for p in patch] if stride is None else list(stride)
    starts = [patch_starts(n, p, s) for n, p, s in zip(shape[-nd:], patch, stride)]
    lead = int(np.prod(shape[:-nd], dtype=np.int64))
    flat = [a.reshape((lead,) + tuple(shape[-nd:])) for a in arrays]
    out: list[list[np.ndarray]] = [[] for _ in arrays]
    for combo in itertools.product(*starts):
        sl = (slice(None),) + tuple(slice(s, s + p) for s, p in zip(combo, patch))
        for i, a in enumerate(flat):
            out[i].append(a[sl])
    return [np.concatenate(o, axis=0) for o in out]


def patch_sizes_ok(model: "VarModel | dict", data_sizes: Sequence[int], name: str = "data", *,
                   option: str = "patch_shape") -> None:
    """Check, before any training, that a model's patch fits the data and the length
    multiples its parts need (:attr:`VarModel.size_multiples`: U-Net pooling, ConvLSTM
    coarsening).

    Args:
        model: the model, or its config (built here to ask its parts).
        data_sizes: the data's length along each model axis.
        name: the variable, for messages.
        option: how the caller names the patch setting in messages (``"--patch"`` in the CLI).

    Raises:
        InputError: a patch longer than the data along an axis, or not divisible by the
            U-Net's pooling / the solver's coarsening factor (the message says which sizes
            would work).
    """
    m = build_model(model) if isinstance(model, dict) else model
    patch, axes = list(m.patch_shape), list(m.axes)
    for a, p, n in zip(axes, patch, data_sizes):
        if p > n:
            raise InputError(f"the patch along {a!r} ({p}) is longer than {name!r} ({n} "
                             f"points); use a {option} of at most {n} there")
    for a, p, f in zip(axes, patch, m.size_multiples):
        if f > 1 and p % f:
            ok = [v for v in (p - p % f, p - p % f + f) if v > 0]
            raise InputError(f"a patch size of {p} along {a!r} is not a multiple of {f}, the "
                             "factor the model's pooling or coarsening needs there; use a "
                             f"{option} of {' or '.join(map(str, ok))} along that axis")
