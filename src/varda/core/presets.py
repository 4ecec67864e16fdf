"""Model configurations for common cases, so users need not write a config by hand."""
from __future__ import annotations

from typing import Sequence

from varda.errors import unknown_choice

PRESET_PRIORS = ("unet", "pca", "ae")
PRESET_SOLVERS = ("lstm", "fsgd")


def model_config(axes: Sequence[str], patch_shape: Sequence[int], *, prior: str = "unet",
                 solver: str = "lstm", hidden: int = 16, periodic: Sequence[str] = (),
                 pool: "int | Sequence[int]" = 2, n_components: int = 20, n_iter: int = 10,
                 first_guess: bool = False) -> dict:
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
    """
    axes, patch_shape = list(axes), [int(p) for p in patch_shape]
    if not 1 <= len(axes) <= 3 or len(axes) != len(patch_shape):
        raise ValueError(f"need 1 to 3 axes with one patch size each, got {axes} / {patch_shape}")
    unknown = set(periodic) - set(axes)
    if unknown:
        raise ValueError(f"periodic axes {sorted(unknown)} are not among the axes {axes}")
    per = [a in periodic for a in axes]
    nd = len(axes)
    if prior == "unet":
        p = {"type": "unet", "ndim": nd, "hidden": hidden, "pool": pool, "periodic": per}
    elif prior == "pca":
        p = {"type": "pca", "shape": [1, *patch_shape], "n_components": n_components}
    elif prior == "ae":
        p = {"type": "ae", "shape": [1, *patch_shape], "hidden": max(hidden, 4 * n_components),
             "latent": n_components}
    else:
        raise unknown_choice("prior", prior, list(PRESET_PRIORS))
    if solver == "lstm":
        s = {"type": "lstm", "ndim": nd, "hidden": hidden, "periodic": per}
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
