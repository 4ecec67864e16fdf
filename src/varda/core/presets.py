"""Model configurations for common cases, so users need not write a config by hand."""
from __future__ import annotations

from typing import Sequence

from varda.errors import unknown_choice

PRESET_PRIORS = ("unet", "pca", "ae")
PRESET_SOLVERS = ("lstm", "fsgd")


def model_config(axes: Sequence[str], patch_shape: Sequence[int], *, prior: str = "unet",
                 solver: str = "lstm", hidden: int = 16, periodic: Sequence[str] = (),
                 pool: "int | Sequence[int]" = 2, n_components: int = 20, n_iter: int = 10,
                 first_guess: bool = False, fold: "str | None" = None,
                 split_grad: bool = False) -> dict:
    """A :func:`varda.core.build_model` config for fields with ``axes`` of ``patch_shape``.

    Args:
        axes: the model's axis names, e.g. ``("time", "lat", "lon")`` (1 to 3 axes).
        patch_shape: the training patch size along each axis.
        prior: ``"unet"`` (two-scale U-Net), ``"pca"`` or ``"ae"`` (dense auto-encoder).
        solver: ``"lstm"`` (ConvLSTM) or ``"fsgd"``.
        hidden: hidden channels (U-Net, ConvLSTM) or width (AE).
        periodic: names of periodic axes (e.g. a global longitude).
        pool: U-Net pooling factor (scalar, or one per axis).
        n_components: PCA components / AE latent size.
        n_iter: solver iterations.
        first_guess: add a learned first guess (a bidirectional ConvGRU smoother run along the
            first axis, which must be time, with ``hidden`` channels; see
            :mod:`varda.core.first_guess`); it needs truth to train.
        fold: an axis (e.g. ``"time"``) folded into the channels of the U-Net and the ConvLSTM,
            which then run on the other axes: a short time window seen whole by 2-D
            convolutions, as in 4DVarNet (several times cheaper than 3-D convolutions). The
            PCA and AE priors see the whole patch anyway and ignore it.
        split_grad: the ConvLSTM sees the data and prior terms of ∇U separately, plus Ω.
    """
    axes, patch_shape = list(axes), [int(p) for p in patch_shape]
    if not 1 <= len(axes) <= 3 or len(axes) != len(patch_shape):
        raise ValueError(f"need 1 to 3 axes with one patch size each, got {axes} / {patch_shape}")
    unknown = set(periodic) - set(axes)
    if unknown:
        raise ValueError(f"periodic axes {sorted(unknown)} are not among the axes {axes}")
    per = [a in periodic for a in axes]
    nd = len(axes)
    if fold is not None and fold not in axes:
        raise ValueError(f"fold={fold!r} is not among the axes {axes}")
    if fold is not None and nd < 2:
        raise ValueError(f"folding {fold!r} into channels needs at least two axes, got {axes}")
    f_ax = axes.index(fold) if fold is not None else None
    f_per = [p for i, p in enumerate(per) if i != f_ax]
    f_pool = pool if isinstance(pool, int) or f_ax is None else \
        [q for i, q in enumerate(pool) if i != f_ax]
    if prior == "unet" and f_ax is not None:
        p = {"type": "fold", "axis": f_ax,
             "inner": {"type": "unet", "ndim": nd - 1, "channels": patch_shape[f_ax],
                       "hidden": hidden, "pool": f_pool, "periodic": f_per}}
    elif prior == "unet":
        p = {"type": "unet", "ndim": nd, "hidden": hidden, "pool": pool, "periodic": per}
    elif prior == "pca":
        p = {"type": "pca", "shape": [1, *patch_shape], "n_components": n_components}
    elif prior == "ae":
        p = {"type": "ae", "shape": [1, *patch_shape], "hidden": max(hidden, 4 * n_components),
             "latent": n_components}
    else:
        raise unknown_choice("prior", prior, list(PRESET_PRIORS))
    if solver == "lstm" and f_ax is not None:
        inner: dict = {"type": "lstm", "ndim": nd - 1, "channels": patch_shape[f_ax],
                       "hidden": hidden, "periodic": f_per}
        if split_grad:
            inner["split_grad"] = True
        s = {"type": "fold", "axis": f_ax, "inner": inner}
    elif solver == "lstm":
        s = {"type": "lstm", "ndim": nd, "hidden": hidden, "periodic": per}
        if split_grad:
            s["split_grad"] = True
    elif solver == "fsgd":
        s = {"type": "fsgd", "step": 0.05, "learn_step": True}
    else:
        raise unknown_choice("solver", solver, list(PRESET_SOLVERS))
    out = {"axes": axes, "patch_shape": patch_shape, "prior": p, "solver": s, "n_iter": n_iter}
    if first_guess:
        if nd < 2 or "time" not in axes[0].lower():
            raise ValueError(f"a learned first guess runs along time, the first axis, plus at "
                             f"least one other axis; got axes {axes}: put the time axis first, "
                             "e.g. ('time', 'lat', 'lon')")
        out["first_guess"] = {"type": "bigru", "ndim": nd, "hidden": hidden, "layers": 1,
                              "kernel": 3, "periodic": per[1:], "chunk": 1}
    return out
