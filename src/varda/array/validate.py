"""Input checks for the array entry points; every message names the variable and the fix."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from varda.errors import InputError

COMPLETE_CHOICES = ("denoise", "unchanged")


def expected_shape(axis_names: Sequence[str], patch: Sequence[int],
                   periodic: Sequence[bool]) -> str:
    """Human-readable expected shape, e.g. ``(..., time=any, site=40)``."""
    parts = [f"{a}={p}" if per else f"{a}=any" for a, p, per in zip(axis_names, patch, periodic)]
    return "(..., " + ", ".join(parts) + ")"


def check_array(obs, *, name: str, model_axes: Sequence[str], axis_names: Sequence[str],
                patch: Sequence[int], periodic: Sequence[bool]) -> None:
    """Check dtype, number of dims and the size of periodic (untileable) axes.

    Raises:
        InputError: non-float data, too few dims, or a periodic axis whose size differs from
            the model's patch.
    """
    dtype = np.dtype(obs.dtype)
    if dtype.kind != "f":
        raise InputError(
            f"{name} has dtype {dtype}; varda fills floating-point data in which NaN marks the "
            f"missing values. Convert it first, e.g. {name}.astype('float32') and set the "
            "missing points to NaN (integer fill values or masks are not understood)")
    nd = len(model_axes)
    shape = expected_shape(axis_names, patch, periodic)
    if obs.ndim < nd:
        raise InputError(f"{name} has shape {tuple(obs.shape)} but the model works on the last "
                         f"{nd} axes {tuple(model_axes)}: expected shape {shape}")
    trailing = obs.shape[obs.ndim - nd:]
    if 0 in obs.shape:
        names = [f"axis {i}" for i in range(obs.ndim - nd)] + [repr(a) for a in axis_names]
        empty = [n for n, size in zip(names, obs.shape) if size == 0]
        raise InputError(
            f"{name} has shape {tuple(obs.shape)}: {', '.join(empty)} has no point, so there is "
            "nothing to fill; check the selection (e.g. a time range outside the data) or the "
            "files matched")
    for ax, n, p, per in zip(axis_names, trailing, patch, periodic):
        if per and n != p:
            raise InputError(
                f"{name}: axis {ax!r} has {n} points but this model cannot tile or pad it "
                f"(periodic, folded into channels or an ODE state axis): its size must equal "
                f"the model's patch ({p}); expected shape {shape}, got {tuple(obs.shape)}")


def check_summary(*, name: str, n_inf: int, n_obs: np.ndarray, n_valid: np.ndarray,
                  lead_names: Sequence[str] = ()) -> None:
    """Check the data values from their per-window counts.

    Raises:
        InputError: ±inf values, or a window (leading index) with points to fill but no
            observed value at all.
    """
    if n_inf:
        raise InputError(
            f"{name} contains {n_inf} infinite value(s); mark missing values with NaN instead, "
            f"e.g. {name} = np.where(np.isinf({name}), np.nan, {name})")
    if n_obs.sum() == 0:
        raise InputError(f"{name} is entirely NaN (no observed value): there is nothing to fill "
                         "from; check the variable, the time range or the missing-value decoding")
    empty = np.argwhere((n_obs == 0) & (n_valid > 0))
    if len(empty):
        where = ", ".join(str(tuple(int(i) for i in ix)) for ix in empty[:5])
        more = f" and {len(empty) - 5} more" if len(empty) > 5 else ""
        dims = f" over ({', '.join(lead_names)})" if lead_names else ""
        raise InputError(
            f"{name} has {len(empty)} window(s) with no observed value at all: index {where}{more}"
            f"{dims}. A window (one slice of the model's axes) needs at least one observation; "
            "drop these slices (e.g. da.dropna(dim, how='all')) or use a model whose axes "
            "include that dimension")
