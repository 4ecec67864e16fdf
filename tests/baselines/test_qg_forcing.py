"""The whitened forcing control of QG 4D-Var: its filters, statistics and trajectory."""
import numpy as np
import torch
import xarray as xr

from varda.baselines.qg4dvar import qg_prior
from varda.baselines.qg_forcing import (ForcingCost, filtered, isotropic_amplitude,
                                        model_error_stats, solve_forcing_control)
from varda.datasets.qg import make_qg_ssh


def _prior_and_truth():
    truth = make_qg_ssh(5, seed=3, shape=(16, 16), dx=20e3, spinup_days=20, cache=False)
    scale = float(truth.std())
    return qg_prior(truth, rossby_radius=60e3, n_substeps=4, norm_std=scale), truth, scale


def test_amplitude_filter_gives_unit_pointwise_variance():
    rng = np.random.default_rng(0)
    fields = np.cumsum(rng.standard_normal((6, 32, 32)), axis=-1)       # red in x
    amp = isotropic_amplitude(fields)
    assert amp[0, 0] == 0 and amp.shape == (32, 17)
    out = filtered(torch.from_numpy(rng.standard_normal((400, 32, 32)).astype(np.float32)), amp)
    assert abs(float(out.var()) - 1.0) < 0.05


def test_stats_of_a_free_run_show_no_model_error():
    prior, truth, scale = _prior_and_truth()
    x = [torch.from_numpy(truth.values[0] / scale)]
    with torch.no_grad():
        for _ in range(3):
            x.append(prior.step_normalised(x[-1]))
    free = model_error_stats(torch.stack(x), prior)
    forced = model_error_stats(torch.from_numpy(truth.values / scale), prior)
    assert free.std < 1e-4 < forced.std
    assert 0.0 <= forced.lag1 <= 0.95


def test_zero_control_is_the_free_flow_and_the_solver_lowers_the_cost():
    prior, truth, scale = _prior_and_truth()
    x = torch.from_numpy(truth.values / scale)[None]
    mask = (torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) < 0.1).float()
    stats = model_error_stats(x[0], prior)
    cost = ForcingCost(y=x * mask, mask=mask, background=torch.zeros_like(x) + x.mean(1, keepdim=True),
                       prior=prior, stats=stats, sigma_q=stats.std, sigma_b=0.5, sigma_o=0.05)
    u = torch.zeros(1, 16, 16)
    v = torch.zeros(1, 4, 16, 16)
    traj = cost.trajectory(u, v)
    with torch.no_grad():
        assert torch.allclose(traj[:, 1], prior.step_normalised(traj[:, 0]), atol=1e-6)
    start = float(cost(u, v))
    states, calls = solve_forcing_control(cost, n_iter=4, spinup_iter=0)
    assert calls >= 4 and states.shape == x.shape
    err = lambda s: float(((s - x) ** 2).mean())
    assert err(states) < err(traj.detach()) and start > 0
