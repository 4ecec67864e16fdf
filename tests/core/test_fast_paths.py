"""CPU fast paths give the values of the plain computation: stacked convolutions of a
bilinear unit, and tanh through the sigmoid."""
from __future__ import annotations

import pytest
import torch

from varda.core import fastmath
from varda.core.priors import unet
from varda.core.nn import PaddedConv
from varda.core.priors.unet import TwoScaleUNet


@pytest.mark.parametrize("blind", [False, True])
@pytest.mark.parametrize("c_in", [1, 3])
def test_stacked_convolutions_equal_separate_calls(blind, c_in) -> None:
    convs = [PaddedConv(2, c_in, c_out, (3, 5), (False, True), blind=blind) for c_out in (4, 2, 4)]
    x = torch.randn(2, c_in, 12, 10)
    for got, want in zip(PaddedConv.stacked(convs, x), (c(x) for c in convs)):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_stacked_convolutions_need_the_same_geometry() -> None:
    a = PaddedConv(2, 1, 4, 3, (False, False))
    b = PaddedConv(2, 1, 4, 5, (False, False))
    with pytest.raises(ValueError, match="same input channels, kernel"):
        PaddedConv.stacked([a, b], torch.randn(1, 1, 8, 8))


def test_fused_bilinear_unet_same_values_and_gradients(monkeypatch) -> None:
    net = TwoScaleUNet(ndim=2, hidden=4, depth=0, kernel=(3, 5), pool=(2, 1),
                       periodic=(False, True), blind=True)
    x = torch.randn(3, 1, 16, 8, requires_grad=True)
    out = {}
    for fused in (True, False):
        monkeypatch.setattr(unet, "FUSED_BILINEAR", fused)
        y = net(x)
        (g,) = torch.autograd.grad((y ** 2).sum(), x)
        out[fused] = (y.detach(), g)
    for a, b in zip(out[True], out[False]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_sigmoid_tanh_is_tanh_and_keeps_the_autograd_path() -> None:
    z = torch.linspace(-60, 60, 2001)
    torch.testing.assert_close(fastmath.tanh(z), torch.tanh(z), rtol=0, atol=1e-6)
    zg = torch.randn(20, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fastmath.tanh, (zg,))


def test_inference_cells_in_place_give_the_graph_path_values() -> None:
    """The ConvLSTM cell and the ConvGRU first guess compute in place when no graph is
    built; the values are those of the differentiable path."""
    from varda.core.first_guess import BiGRUSmoother
    from varda.core.solvers import ConvLSTMCell

    torch.manual_seed(0)
    cell = ConvLSTMCell(2, 3, 4, 3, (False, True))
    inp, h, c = torch.randn(2, 3, 12, 8), torch.randn(2, 4, 12, 8), torch.randn(2, 4, 12, 8)
    with torch.no_grad():
        fast = cell(inp, h, c)
    graph = cell(inp, h, c)
    assert graph[0].requires_grad and not fast[0].requires_grad
    for a, b in zip(fast, graph):
        torch.testing.assert_close(a, b.detach(), rtol=1e-5, atol=1e-6)
    h0, c0 = h.clone(), c.clone()
    with torch.no_grad():
        cell(inp, h, c)
    assert torch.equal(h, h0) and torch.equal(c, c0)          # the inputs are left as they were

    gru = BiGRUSmoother(ndim=2, hidden=4, layers=2, kernel=5, chunk=4)
    y = torch.randn(2, 1, 16, 8)
    om = (torch.rand(2, 1, 16, 8) < 0.3).float()
    with torch.no_grad():
        fast = gru(y * om, om)
    torch.testing.assert_close(fast, gru(y * om, om).detach(), rtol=1e-5, atol=1e-6)
