"""Device selection: ``"auto"`` picks CUDA, then Apple MPS, then CPU."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from varda.errors import unknown_choice

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(device: "str | torch.device" = "auto") -> torch.device:
    """Turn ``"auto" | "cpu" | "cuda[:N]" | "mps"`` into a torch.device, checking availability."""
    if isinstance(device, torch.device):
        return device
    name = str(device)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    base = name.split(":")[0]
    if base not in DEVICES:
        raise unknown_choice("device", name, list(DEVICES))
    if base == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA GPU is visible; use device='auto' or 'cpu'")
    return torch.device(name)


@contextlib.contextmanager
def full_fp32() -> Iterator[None]:
    """Run cuDNN convolutions in full float32 inside the block (no TF32), keeping the other
    cuDNN settings.

    torch lets cuDNN convolutions use TF32 (10-bit mantissa) by default. Through K solver
    iterations that rounding grows: with a Lorenz-96 U-Net model at K = 36 the GPU field
    differed from the CPU's by 1.8e-3 on average and up to 0.33 (raw units); without TF32 by
    1.7e-5 and 0.028, at the same speed on an H200 (``benchmarks/bench_gpu.py``). No effect on
    the CPU."""
    cudnn = torch.backends.cudnn
    with cudnn.flags(enabled=cudnn.enabled, benchmark=cudnn.benchmark,
                     benchmark_limit=cudnn.benchmark_limit,
                     deterministic=cudnn.deterministic, allow_tf32=False):
        yield
