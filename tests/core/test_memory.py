"""Inference memory does not grow with the number of solver iterations.

Method: every tensor autograd saves for a backward pass goes through
``torch.autograd.graph.saved_tensors_hooks``; we count its bytes while it is alive (a weakref
finaliser subtracts them when autograd frees it). If the graph over the iterations were kept,
the peak and the bytes still alive after the call would grow linearly with K — the positive
control (training mode, where the graph *must* be kept) checks that the probe sees that.
"""
from __future__ import annotations

import gc
import weakref

import pytest
import torch

from varda.core.model import VarModel


class _Saved:
    __slots__ = ("tensor", "__weakref__")


class SavedTensorProbe:
    """Live and peak bytes of the tensors autograd saves for backward."""

    def __init__(self) -> None:
        self.live_bytes = 0
        self.peak_bytes = 0
        self._alive: "weakref.WeakSet[_Saved]" = weakref.WeakSet()

    def _free(self, nbytes: int) -> None:
        self.live_bytes -= nbytes

    def pack(self, t: torch.Tensor) -> _Saved:
        box = _Saved()
        box.tensor = t.detach()   # detached: holding an output must not create a ref-cycle
        nbytes = t.numel() * t.element_size()
        self.live_bytes += nbytes
        self.peak_bytes = max(self.peak_bytes, self.live_bytes)
        self._alive.add(box)
        weakref.finalize(box, self._free, nbytes)
        return box

    @staticmethod
    def unpack(box: _Saved) -> torch.Tensor:
        return box.tensor

    @property
    def n_alive(self) -> int:
        gc.collect()
        return len(self._alive)


def _run(model: VarModel, y, mask, k: int, *, no_grad: bool = False):
    probe = SavedTensorProbe()
    with torch.autograd.graph.saved_tensors_hooks(probe.pack, probe.unpack):
        if no_grad:
            with torch.no_grad():
                out = model(y, mask, n_iter=k)
        else:
            out = model(y, mask, n_iter=k)
    return probe, out


@pytest.fixture
def problem():
    g = torch.Generator().manual_seed(0)
    truth = torch.randn(2, 1, 8, 8, generator=g)
    mask = (torch.rand(truth.shape, generator=g) < 0.5).float()
    return truth * mask, mask


@pytest.mark.parametrize("no_grad", [False, True])
def test_inference_memory_does_not_grow_with_iterations(tiny_model, problem, no_grad) -> None:
    model = tiny_model().eval()
    y, mask = problem
    p5, out5 = _run(model, y, mask, 5, no_grad=no_grad)
    p50, out50 = _run(model, y, mask, 50, no_grad=no_grad)
    # each iteration needs one graph for ∇ₓU, so something is saved, but only transiently
    assert p5.peak_bytes > 0
    assert p50.peak_bytes == p5.peak_bytes
    assert p5.n_alive == 0 and p50.n_alive == 0
    for out in (out5, out50):
        assert not out.requires_grad and out.grad_fn is None
    # the probe does not change the result
    with torch.no_grad():
        assert torch.equal(model(y, mask, n_iter=5), out5)


def test_reconstruct_keeps_no_graph(tiny_model, problem) -> None:
    model = tiny_model().train()       # reconstruct must switch to inference itself
    y, mask = problem
    out = model.reconstruct(y, mask, n_iter=4)
    assert not out.requires_grad and out.grad_fn is None
    assert model.training              # and restore the mode afterwards


def test_probe_sees_a_retained_graph(tiny_model, problem) -> None:
    """Positive control: in training the graph over all iterations must be kept."""
    model = tiny_model().train()
    y, mask = problem
    p5, out5 = _run(model, y, mask, 5)
    p50, out50 = _run(model, y, mask, 50)
    assert out50.grad_fn is not None
    assert p50.n_alive > 5 * p5.n_alive > 0
    assert p50.peak_bytes > 5 * p5.peak_bytes


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_inference_peak_memory_flat(tiny_model) -> None:
    """On a GPU, the allocator's own peak must not grow with K either."""
    dev = torch.device("cuda")
    model = tiny_model().to(dev).eval()
    y = torch.randn(4, 1, 8, 8, device=dev)
    mask = (torch.rand(y.shape, device=dev) < 0.5).float()
    peaks = []
    for k in (5, 50):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev)
        with torch.no_grad():
            out = model(y, mask, n_iter=k)
        torch.cuda.synchronize()
        peaks.append(torch.cuda.max_memory_allocated(dev) - base)
        del out
    assert peaks[1] <= peaks[0] * 1.05 + 4096, peaks
