"""The Lorenz-96 benchmark data as tensors, and scoring (R-score, MSE, I-score)."""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from experiments.l96.settings import SIZES
from varda.core.model import VarModel
from varda.datasets.lorenz96 import L96Benchmark, L96Split, make_l96_benchmark


def load_benchmark(size: str = "full", *, shared_mask: bool = False, seed: int = 0,
                   cache: bool = True) -> L96Benchmark:
    """The benchmark at one of :data:`SIZES` (``full`` = the paper's protocol), with a
    validation split carved from the end of the training part."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    return make_l96_benchmark(**SIZES[size], shared_mask=shared_mask, seed=seed, cache=cache)


def tensors(split: L96Split) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x, y, mask) as ``(N, 1, time, site)`` float tensors (y is 0 where unobserved)."""
    m = torch.from_numpy(np.ascontiguousarray(split.mask)).float()[:, None]
    y = torch.nan_to_num(torch.from_numpy(np.ascontiguousarray(split.y)))[:, None] * m
    x = torch.from_numpy(np.ascontiguousarray(split.x))[:, None]
    return x, y, m


def scores(x_hat: "np.ndarray | torch.Tensor", split: L96Split, scale: float) -> dict:
    """R-score, raw MSE and I-score of a reconstruction ``(N, time, site)`` of ``split``."""
    xh = torch.as_tensor(x_hat, dtype=torch.float64).reshape(split.x.shape).numpy()
    err2 = (xh - split.x.astype(np.float64)) ** 2
    mse = float(err2.mean())
    gaps = ~split.mask
    return {"r_score": mse / scale, "mse": mse, "i_score": float(err2[gaps].mean()) / scale,
            "rmse": math.sqrt(mse), "n_windows": int(len(split))}


@torch.no_grad()
def reconstruct(model: VarModel, split: L96Split, *, n_iter: "int | None" = None,
                batch_size: int = 8) -> np.ndarray:
    """Fill ``split`` with ``model`` (raw units) in batches; returns ``(N, time, site)``."""
    _, y, m = tensors(split)
    model.eval()
    out = [model.reconstruct(y[s:s + batch_size], m[s:s + batch_size], n_iter=n_iter)
           for s in range(0, len(y), batch_size)]
    return torch.cat(out)[:, 0].numpy()


def evaluate(model: VarModel, split: L96Split, scale: float, *, n_iter: "int | None" = None,
             batch_size: int = 8) -> dict:
    t0 = time.perf_counter()
    xh = reconstruct(model, split, n_iter=n_iter, batch_size=batch_size)
    out = scores(xh, split, scale)
    out["eval_time_s"] = round(time.perf_counter() - t0, 3)
    out["n_iter"] = int(model.n_iter if n_iter is None else n_iter)
    return out


def time_crops(t: torch.Tensor, crop: int) -> torch.Tensor:
    """``(N, C, T, S)`` → ``(N·(T // crop), C, crop, S)``: non-overlapping crops along time."""
    n, c, nt, s = t.shape
    k = nt // crop
    if k < 1:
        raise ValueError(f"crop {crop} is longer than the windows ({nt})")
    return (t[:, :, :k * crop].reshape(n, c, k, crop, s).permute(0, 2, 1, 3, 4)
            .reshape(n * k, c, crop, s).contiguous())


def overlapping_crops(t: torch.Tensor, crop: int, stride: int) -> torch.Tensor:
    """``(N, C, T, S)`` → ``(N·n, C, crop, S)``: crops of ``crop`` steps every ``stride``,
    ordered by start then window (the order the shipped models were trained with, so their
    commands rebuild the same models; :func:`time_crops` orders by window)."""
    if t.shape[2] < crop:
        raise ValueError(f"crop {crop} is longer than the windows ({t.shape[2]})")
    starts = range(0, t.shape[2] - crop + 1, stride)
    return torch.cat([t[:, :, s:s + crop] for s in starts]).contiguous()

