"""Turn a :class:`~varda.core.model.VarModel` into the batched NumPy solver the patch engine calls."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from varda.array.patches import SolveFn
from varda.core.model import VarModel


def fixed_axes(model: VarModel) -> tuple[bool, ...]:
    """Per model axis: True where the model cannot tile or pad the axis (its length must equal
    the patch); the model's parts say so themselves (:attr:`VarModel.fixed_axes`)."""
    return model.fixed_axes


# On CPU a solver call handles at most this many points (tiles × points per tile): measured
# with l96-unet-joint (2-D, 200×40 tiles, 2 threads), 256 windows fill in 8.6 s in calls of
# 8 tiles against 15 s in calls of 32 and 17 s in calls of 64 (activations leave the cache).
CPU_BATCH_POINTS = 65536

# On CPU, run a NumPy fill's solver calls side by side on one-thread workers (see _run_calls);
# False runs them one at a time (the recipe l96_fill_timing.py times both).
CPU_SIDE_BY_SIDE = True


def model_solver(model: VarModel, *, n_iter: "int | None" = None, batch_size: int = 64) -> SolveFn:
    """A ``solve(y, observed)`` running ``model.reconstruct`` in raw units, ``batch_size`` at a
    time (on CPU, in calls of at most ``CPU_BATCH_POINTS`` points; see
    ``_run_calls`` for how the calls share the CPU threads)."""
    device = next(model.parameters()).device

    def solve(y: np.ndarray, observed: np.ndarray) -> np.ndarray:
        out = np.empty(y.shape, np.float32)
        step = batch_size
        if device.type == "cpu":   # keep a solver call's activations cache-sized on CPU
            step = max(1, min(batch_size, CPU_BATCH_POINTS // max(1, int(np.prod(y.shape[1:])))))

        def call(i: int) -> None:
            yb = torch.from_numpy(np.ascontiguousarray(y[i:i + step], np.float32))
            mb = torch.from_numpy(np.ascontiguousarray(observed[i:i + step]))
            x = model.reconstruct(yb.unsqueeze(1).to(device), mb.unsqueeze(1).to(device),
                                  n_iter=n_iter)
            out[i:i + step] = x[:, 0].float().cpu().numpy()

        _run_calls(call, range(0, len(y), step),
                   parallel=device.type == "cpu" and CPU_SIDE_BY_SIDE)
        return out

    return solve


def _run_calls(call, starts, *, parallel: bool) -> None:
    """Run ``call(i)`` for every start. On CPU, from the main thread, with T > 1 torch threads
    and several calls, the calls run on T Python threads of one torch thread each: the small
    convolutions of these solvers scale poorly across threads inside one call (1.3× on 2
    threads), and independent calls side by side use the cores better. Results are the same
    (each call is computed on its own). Elsewhere (dask worker threads, GPU) the calls run
    in turn, so concurrent tasks never change each other's thread settings."""
    starts = list(starts)
    n_threads = torch.get_num_threads()
    if not (parallel and n_threads > 1 and len(starts) > 1
            and threading.current_thread() is threading.main_thread()):
        for i in starts:
            call(i)
        return

    def one_thread_call(i: int) -> None:
        torch.set_num_threads(1)        # this worker's intra-op threads
        call(i)

    try:
        with ThreadPoolExecutor(max_workers=min(n_threads, len(starts))) as pool:
            for f in [pool.submit(one_thread_call, i) for i in starts]:
                f.result()
    finally:
        torch.set_num_threads(n_threads)
