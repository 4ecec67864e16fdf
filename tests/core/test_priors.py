"""Priors Φ: same shape in and out, periodic equivariance, PCA recovers a planted subspace."""
from __future__ import annotations

import pytest
import torch

from varda.core.priors import PRIORS, DenseAE, ODEFlowPrior, PCAPrior, TwoScaleUNet, build_prior
from varda.errors import ConfigError

SPATIAL = {1: (16,), 2: (8, 12), 3: (4, 6, 8)}


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("bilinear", [True, False])
def test_unet_shapes(ndim: int, batch: int, bilinear: bool) -> None:
    shape = (batch, 2, *SPATIAL[ndim])
    net = TwoScaleUNet(ndim=ndim, channels=2, hidden=3, depth=2, pool=2, bilinear=bilinear,
                       periodic=[True] + [False] * (ndim - 1))
    out = net(torch.randn(shape))
    assert out.shape == shape
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_pca_and_ae_shapes(ndim: int, batch: int) -> None:
    sample = (1, *SPATIAL[ndim])
    x = torch.randn(batch, *sample)
    assert PCAPrior(shape=sample, n_components=4)(x).shape == x.shape
    assert DenseAE(shape=sample, hidden=8, latent=3)(x).shape == x.shape


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("ode", [{"type": "lorenz96"}, {"type": "bilinear", "rank": 2}])
def test_flow_shapes_and_first_step_kept(batch: int, ode: dict) -> None:
    prior = ODEFlowPrior(ode=ode, dt=0.05, n_substeps=2)
    x = torch.randn(batch, 1, 10, 8)                       # (B, C, time, site)
    out = prior(x)
    assert out.shape == x.shape
    assert torch.equal(out[:, :, 0], x[:, :, 0])
    # Φ(x)[t] only depends on x[t−1]: changing the last time step changes nothing
    x2 = x.clone()
    x2[:, :, -1] += 1.0
    assert torch.equal(prior(x2), out)


def test_flow_time_axis_other_than_first() -> None:
    prior = ODEFlowPrior(ode={"type": "lorenz96"}, dt=0.05, time_axis=1)
    x = torch.randn(2, 1, 8, 10)                           # (B, C, site, time)
    ref = ODEFlowPrior(ode={"type": "lorenz96"}, dt=0.05, time_axis=0)
    # on (B, C, site, time) the ODE must act on sites: same as the transposed layout
    torch.testing.assert_close(prior(x), ref(x.transpose(2, 3)).transpose(2, 3))


def test_flow_is_rk4_of_previous_step() -> None:
    from varda.core.ode import Lorenz96, rk4_step
    prior = ODEFlowPrior(ode={"type": "lorenz96", "forcing": 8.0}, dt=0.05, n_substeps=3)
    x = torch.randn(2, 1, 5, 8)
    torch.testing.assert_close(prior(x)[:, :, 3], rk4_step(Lorenz96(), x[:, :, 2], 0.05, 3))


def test_unet_periodic_axis_equivariance() -> None:
    """Rolling along a periodic axis (by a multiple of its pooling factor) rolls Φ(x);
    along a zero-padded axis it does not."""
    torch.manual_seed(1)
    net = TwoScaleUNet(ndim=2, hidden=4, depth=2, pool=[2, 2], periodic=[False, True])
    x = torch.randn(3, 1, 8, 12)
    out = net(x)
    for shift in (2, 4, -6):
        torch.testing.assert_close(net(x.roll(shift, dims=3)), out.roll(shift, dims=3),
                                   rtol=1e-5, atol=1e-5)
    # the non-periodic (time) axis: rolling the input does not roll the output
    diff = (net(x.roll(2, dims=2)) - out.roll(2, dims=2)).abs().max().item()
    assert diff > 1e-3


def test_unet_all_periodic_3d_equivariance() -> None:
    torch.manual_seed(2)
    net = TwoScaleUNet(ndim=3, hidden=3, pool=[1, 2, 2], periodic=True)
    x = torch.randn(2, 1, 5, 4, 6)
    out = net(x)
    torch.testing.assert_close(net(x.roll(1, dims=2)), out.roll(1, dims=2), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(net(x.roll((2, 4), dims=(3, 4))), out.roll((2, 4), dims=(3, 4)),
                               rtol=1e-5, atol=1e-5)


def test_unet_rejects_sizes_not_divisible_by_pool() -> None:
    net = TwoScaleUNet(ndim=2, pool=[4, 1])
    with pytest.raises(ValueError, match="not a multiple of its pooling factor 4"):
        net(torch.randn(1, 1, 10, 8))


def test_pca_fit_recovers_planted_subspace() -> None:
    g = torch.Generator().manual_seed(0)
    n, k = 30, 4
    basis = torch.linalg.qr(torch.randn(n, k, generator=g, dtype=torch.float64))[0]
    mean = torch.randn(n, generator=g, dtype=torch.float64)

    def sample(m: int) -> torch.Tensor:
        return (mean + torch.randn(m, k, generator=g, dtype=torch.float64) @ basis.T
                ).reshape(m, 1, 5, 6)

    pca = PCAPrior(shape=(1, 5, 6), n_components=k).double().fit(sample(50))
    fresh = sample(20)
    assert (pca(fresh) - fresh).abs().max().item() < 1e-10        # rank-k data: Φ(x) = x
    w = pca.components.detach()
    torch.testing.assert_close(w @ w.T, basis @ basis.T)            # same projector
    off = fresh + 0.5 * torch.randn(fresh.shape, generator=g, dtype=torch.float64)
    assert (pca(off) - off).abs().max().item() > 1e-2               # off the subspace: not
    with pytest.raises(ValueError, match="at least 4 samples"):
        PCAPrior(shape=(1, 5, 6), n_components=4).fit(sample(3).float())


def test_pca_stays_trainable_after_fit() -> None:
    pca = PCAPrior(shape=(1, 8), n_components=2).fit(torch.randn(10, 1, 8))
    ((pca(torch.randn(4, 1, 8)) - 1) ** 2).mean().backward()
    assert pca.components.grad is not None and pca.components.grad.abs().sum() > 0


def test_unknown_prior_lists_valid_names() -> None:
    with pytest.raises(ConfigError) as err:
        build_prior({"type": "transformer"})
    for name in PRIORS:
        assert repr(name) in str(err.value)
    assert "transformer" in str(err.value)


@pytest.mark.parametrize("periodic", [(True, True), (True, False), (False, True), (False, False)])
def test_pad_axes_matches_torch_padding(periodic: tuple[bool, bool]) -> None:
    """Per-axis padding: circular where periodic, zeros elsewhere, axis by axis."""
    import torch.nn.functional as F

    from varda.core.nn import pad_axes
    x = torch.randn(2, 3, 5, 7)
    out = pad_axes(x, (2, 1), periodic)
    ref = x
    # F.pad lists the last axis first; pad the time axis (dim 2) then the site axis (dim 3)
    ref = F.pad(ref, (0, 0, 2, 2), mode="circular" if periodic[0] else "constant")
    ref = F.pad(ref, (1, 1, 0, 0), mode="circular" if periodic[1] else "constant")
    assert out.shape == (2, 3, 9, 9)
    assert torch.equal(out, ref)
    with pytest.raises(ValueError, match="exceeds axis length"):
        pad_axes(x, (6, 0), (True, False))


@pytest.mark.parametrize("ndim,pool", [(1, 2), (2, (2, 1)), (2, 2)])
def test_blind_unet_output_does_not_see_its_own_point(ndim: int, pool) -> None:
    from varda.core.priors.unet import TwoScaleUNet
    torch.manual_seed(0)
    net = TwoScaleUNet(ndim=ndim, hidden=4, depth=0, kernel=3, pool=pool,
                       periodic=[False, True][:ndim] if ndim == 2 else False, blind=True)
    shape = (1, 1, 8, 6)[:2 + ndim]
    x = torch.randn(shape, dtype=torch.float64)
    net = net.double()
    jac = torch.autograd.functional.jacobian(lambda v: net(v).reshape(-1), x).reshape(x.numel(), x.numel())
    assert torch.count_nonzero(jac.diagonal()) == 0
    assert jac.abs().sum() > 0            # but it does see the neighbours
    # the same network without the blind spot sees every point
    plain = TwoScaleUNet(ndim=ndim, hidden=4, depth=0, kernel=3, pool=pool).double()
    jp = torch.autograd.functional.jacobian(lambda v: plain(v).reshape(-1), x).reshape(x.numel(), x.numel())
    assert torch.count_nonzero(jp.diagonal()) > 0


def test_blind_unet_needs_depth_zero() -> None:
    from varda.core.priors.unet import TwoScaleUNet
    with pytest.raises(ValueError, match="depth=0"):
        TwoScaleUNet(ndim=1, depth=1, blind=True)
    assert TwoScaleUNet(ndim=1, depth=0, blind=True).config["blind"] is True


@pytest.mark.parametrize("blind", [False, True])
def test_native_single_channel_conv_matches_onednn(blind: bool, monkeypatch) -> None:
    """The native kernel used for one-input-channel 2-D convolutions on CPU gives the values,
    the gradients and the second-order gradients (training differentiates ∇ₓU) of the
    oneDNN path."""
    from varda.core import nn as padding
    torch.manual_seed(0)
    conv = padding.PaddedConv(2, 1, 6, [3, 5], [False, True], blind=blind).double()
    assert padding.use_native_conv(torch.zeros(1, 1, 8, 8, dtype=torch.float64), conv.conv)

    def run(native: bool) -> list[torch.Tensor]:
        monkeypatch.setattr(padding, "NATIVE_SINGLE_CHANNEL_CONV", native)
        x = torch.linspace(-1, 1, 2 * 12 * 10, dtype=torch.float64).reshape(2, 1, 12, 10)
        x.requires_grad_(True)
        out = conv(x)
        (gx,) = torch.autograd.grad((out ** 3).sum(), x, create_graph=True)
        gw = torch.autograd.grad((gx ** 2).sum(), conv.conv.weight)[0]
        return [out.detach(), gx.detach(), gw]

    for a, b in zip(run(True), run(False)):
        torch.testing.assert_close(a, b)


def test_native_conv_only_for_one_input_channel_2d_cpu() -> None:
    from varda.core import nn as padding
    x = torch.zeros(1, 3, 8, 8)
    assert not padding.use_native_conv(x, padding.PaddedConv(2, 3, 4, 3, [False, False]).conv)
    x1 = torch.zeros(1, 1, 8)
    assert not padding.use_native_conv(x1, padding.PaddedConv(1, 1, 4, 3, [False]).conv)
