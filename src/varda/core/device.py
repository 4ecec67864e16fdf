"""Device selection: ``"auto"`` picks CUDA, then Apple MPS, then CPU."""
from __future__ import annotations

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
