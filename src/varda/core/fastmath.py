"""CPU fast paths of elementwise functions used by the recurrent cells (same functions)."""
from __future__ import annotations

import torch

# Without autograd, compute tanh as 2σ(2z) − 1 (the same function): on CPU torch's tanh costs
# about 9× its sigmoid, and the ConvLSTM solver and the GRU first guess call it at every step
# (with autograd, tanh's one-kernel backward wins); benchmarks/bench_conv_backend.py
# --switch sigmoid_tanh times it against torch.tanh, side by side.
SIGMOID_TANH = True


def tanh(z: torch.Tensor) -> torch.Tensor:
    """``torch.tanh(z)``, computed through the sigmoid when no gradient is needed."""
    if SIGMOID_TANH and not z.requires_grad:
        return tanh_(z.clone())
    return torch.tanh(z)


def tanh_(z: torch.Tensor) -> torch.Tensor:
    """In-place ``tanh`` of a buffer that needs no gradient (returns ``z``)."""
    if SIGMOID_TANH:
        return z.mul_(2.0).sigmoid_().mul_(2.0).sub_(1.0)
    return z.tanh_()
