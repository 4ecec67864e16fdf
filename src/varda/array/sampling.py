"""Training samples from arrays: cut ``(..., *model_axes)`` arrays into model-sized patches."""
from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

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


def _pooling(config: dict, patch: Sequence[int]) -> list[tuple[str, list[int], list[int]]]:
    """``(what, sizes, factors)`` for every part of a model config that needs axis lengths
    divisible by a factor (U-Net pooling, ConvLSTM coarsening), with sizes of those axes."""
    out = []
    for part in ("prior", "solver"):
        c = config.get(part) or {}
        sizes = list(patch)
        if c.get("type") == "fold":
            ax = int(c.get("axis", -1)) % len(sizes)
            sizes = [s for i, s in enumerate(sizes) if i != ax]
            c = c.get("inner") or {}
        key = {"unet": "pool", "lstm": "coarsen"}.get(str(c.get("type")))
        if key is None or key not in c:
            continue
        f = c[key]
        f = [int(f)] * len(sizes) if isinstance(f, int) else [int(v) for v in f]
        out.append((f"{part} {c['type']} {key}", sizes, f))
    return out


def patch_sizes_ok(config: dict, data_sizes: Sequence[int], name: str = "data", *,
                   option: str = "patch_shape") -> None:
    """Check, before any training, that a model config's patch fits the data and its pooling.

    Args:
        option: how the caller names the patch setting in messages (``"--patch"`` in the CLI).

    Raises:
        InputError: a patch longer than the data along an axis, or not divisible by the
            U-Net's pooling / the solver's coarsening factor (the message says which sizes
            would work).
    """
    patch = [int(p) for p in config["patch_shape"]]
    axes = list(config.get("axes", range(len(patch))))
    for a, p, n in zip(axes, patch, data_sizes):
        if p > n:
            raise InputError(f"the patch along {a!r} ({p}) is longer than {name!r} ({n} "
                             f"points); use a {option} of at most {n} there")
    for what, sizes, factors in _pooling(config, patch):
        for s, f in zip(sizes, factors):
            if f > 1 and s % f:
                ok = [v for v in (s - s % f, s - s % f + f) if v > 0]
                raise InputError(f"a patch size of {s} is not a multiple of the {what} factor "
                                 f"{f}; use a {option} of {' or '.join(map(str, ok))} along "
                                 "that axis")
