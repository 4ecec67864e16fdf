"""Data-parallel training on several processes (``torch.distributed``, any backend).

:func:`varda.core.trainer.fit` with ``distributed=True`` runs as one rank of an initialised
process group: every rank draws its own batches, the gradients (and the time used, so that
time-based schedules and stops agree) are averaged after each backward pass, and validation
is split between the ranks and summed. The ranks start from rank 0's weights and take the same
optimiser steps, so they stay identical. :func:`spawn` starts such ranks on one machine (gloo
over the loopback interface, one torch thread each): on a 2-core CPU it trains about twice the
samples per second of one process.
"""
from __future__ import annotations

import os
import socket
from typing import Callable, Sequence

import torch
import torch.distributed as dist


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialised default process group, else ``(0, 1)``."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def require_group() -> tuple[int, int]:
    """:func:`world`, or a clear error when no process group is initialised."""
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("distributed=True needs an initialised torch.distributed process "
                           "group (torch.distributed.init_process_group, torchrun, or "
                           "varda.core.distributed.spawn); or pass distributed=False")
    return world()


def broadcast_parameters(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank (in place)."""
    with torch.no_grad():
        for t in [*module.parameters(), *module.buffers()]:
            dist.broadcast(t.data, src=0)


def average(values: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Average tensors over the ranks in one all-reduce (flattened into one buffer).

    The values may sit on different devices (CUDA gradients and CPU scalars): the buffer is
    reduced on the CPU for gloo, on the first value's device for NCCL, and each average comes
    back on its value's device and dtype."""
    dev = values[0].device if dist.get_backend() == "nccl" else torch.device("cpu")
    flat = torch.cat([v.reshape(-1).to(dev, torch.float64) for v in values])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    out, i = [], 0
    for v in values:
        out.append(flat[i:i + v.numel()].view(v.shape).to(v.device, v.dtype))
        i += v.numel()
    return out


def average_gradients_(params: Sequence[torch.Tensor], *extra: float) -> list[float]:
    """Replace each parameter's gradient by its mean over the ranks (a missing gradient
    counts as zero) and return the rank mean of the ``extra`` scalars, in one all-reduce."""
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    *means, scalars = average([*grads, torch.tensor(extra, dtype=torch.float64)])
    for p, g in zip(params, means):
        p.grad = g
    return [float(v) for v in scalars]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _entry(rank: int, fn: Callable, world_size: int, port: int, threads: int, args: tuple) -> None:
    torch.set_num_threads(threads)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                            rank=rank, world_size=world_size)
    try:
        fn(rank, *args)
    finally:
        dist.destroy_process_group()


def spawn(fn: Callable, workers: int, *args, threads: int = 1) -> None:
    """Run ``fn(rank, *args)`` in ``workers`` processes forming a gloo process group on this
    machine (``threads`` torch threads each). ``fn`` and ``args`` must be picklable (a
    module-level function and plain values: each rank builds its own model and data)."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    import torch.multiprocessing as mp
    if os.uname().sysname == "Linux":      # the loopback device, whatever the hostname says
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    mp.spawn(_entry, args=(fn, workers, _free_port(), threads, args), nprocs=workers, join=True)
