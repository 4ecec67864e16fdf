"""Solvers: FSGD descends U, a briefly trained ConvLSTM beats FSGD, gradient normalisation,
and the second-order graph exists only in training."""
from __future__ import annotations

import pytest
import torch

from varda.core.model import build_model
from varda.core.solvers import SOLVERS, ConvLSTMSolver, FSGD, build_solver
from varda.core.trainer import evaluate_mse, fit
from varda.errors import ConfigError


@pytest.mark.parametrize("prior", ["unet", "flow"])
def test_fsgd_small_step_decreases_u_monotonically(tiny_model, prior: str) -> None:
    overrides = {"solver": {"type": "fsgd", "step": 0.01}}
    if prior == "flow":
        overrides["prior"] = {"type": "flow", "ode": {"type": "lorenz96"}, "dt": 0.01}
    model = tiny_model(**overrides).eval()
    g = torch.Generator().manual_seed(3)
    truth = torch.randn(2, 1, 8, 8, generator=g)
    mask = (torch.rand(truth.shape, generator=g) < 0.3).float()
    y = truth + 0.1 * torch.randn(truth.shape, generator=g)
    x_hat, traj = model(y, mask, n_iter=30, truth=truth, return_trajectory=True)
    u = torch.tensor(traj["U"])
    assert len(traj["U"]) == len(traj["error"]) == 31
    assert (u[1:] < u[:-1]).all(), u
    assert u[-1] < 0.9 * u[0]
    assert x_hat.shape == y.shape


def test_trajectory_error_matches_output(tiny_model) -> None:
    model = tiny_model().eval()
    truth = torch.randn(2, 1, 8, 8)
    mask = (torch.rand(truth.shape) < 0.5).float()
    x_hat, traj = model(truth * mask, mask, n_iter=4, truth=truth, return_trajectory=True)
    assert traj["error"][-1] == pytest.approx(((x_hat - truth) ** 2).mean().item(), rel=1e-6)
    # the trajectory's first U is the cost of the initial state y (zeros in gaps)
    u0 = model.cost(truth * mask, truth * mask, mask, model.prior(truth * mask)).mean().item()
    assert traj["U"][0] == pytest.approx(u0, rel=1e-5)


def test_trained_lstm_beats_fsgd_same_iterations(lowrank, make_pca_model) -> None:
    """Frozen PCA prior fit on data, K = 5: a ConvLSTM solver trained for a few seconds beats
    FSGD at the best step of a grid and FSGD whose step and λ were trained the same way."""
    k = 5
    x_tr, y_tr, m_tr = lowrank(256, seed=0)
    x_te, y_te, m_te = lowrank(128, seed=1)
    kw = dict(mode="solver", epochs=10, batch_size=32, lr=1e-2, n_iter_schedule={0: k},
              progress=False, seed=0)
    fsgd_fixed = min(evaluate_mse(make_pca_model({"type": "fsgd", "step": s}, x_tr, n_iter=k),
                                  x_te, y_te, m_te, n_iter=k)
                     for s in (0.01, 0.03, 0.1, 0.3))
    fsgd = make_pca_model({"type": "fsgd", "step": 0.1, "learn_step": True}, x_tr, n_iter=k)
    fit(fsgd, x_tr, y_tr, m_tr, **kw)
    fsgd_learned = evaluate_mse(fsgd, x_te, y_te, m_te, n_iter=k)
    lstm = make_pca_model({"type": "lstm", "ndim": 1, "hidden": 8}, x_tr, n_iter=k)
    prior_before = {n: p.clone() for n, p in lstm.prior.named_parameters()}
    fit(lstm, x_tr, y_tr, m_tr, **kw)
    lstm_mse = evaluate_mse(lstm, x_te, y_te, m_te, n_iter=k)
    for n, p in lstm.prior.named_parameters():
        assert torch.equal(p, prior_before[n]), f"frozen prior weight {n} changed"
    assert lstm_mse < 0.6 * min(fsgd_fixed, fsgd_learned), (lstm_mse, fsgd_fixed, fsgd_learned)


def test_lstm_input_is_gradient_scale_free() -> None:
    """α = 1 / RMS(first gradient): scaling U (hence ∇U) by any c > 0 gives the same steps."""
    torch.manual_seed(0)
    solver = ConvLSTMSolver(ndim=2, hidden=4, periodic=[False, True]).eval()
    x = torch.randn(3, 1, 6, 8)
    grads = [torch.randn(3, 1, 6, 8) for _ in range(3)]
    outs = []
    for c in (1.0, 1e-4 * torch.tensor([1.0, 7.0, 300.0]).view(3, 1, 1, 1)):
        xx, state = x, None
        for g in grads:
            state = solver.init_state(xx, c * g) if state is None else state
            xx, state = solver.step(xx, c * g, state)
        outs.append(xx)
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-4, atol=1e-5)


def test_lstm_solver_periodic_equivariance() -> None:
    torch.manual_seed(0)
    solver = ConvLSTMSolver(ndim=2, hidden=4, kernel=3, periodic=[False, True])
    x, g = torch.randn(2, 1, 6, 8), torch.randn(2, 1, 6, 8)
    step = lambda a, b: solver.step(a, b, solver.init_state(a, b))[0]  # noqa: E731
    torch.testing.assert_close(step(x.roll(3, 3), g.roll(3, 3)), step(x, g).roll(3, 3))


def test_fsgd_step_is_per_point() -> None:
    x, g = torch.zeros(2, 1, 4, 5), torch.ones(2, 1, 4, 5)
    x1, _ = FSGD(step=0.1).step(x, g, None)
    torch.testing.assert_close(x1, torch.full_like(x, -0.1 * 20))
    assert FSGD(step=0.1, learn_step=True).log_step.requires_grad
    with pytest.raises(ValueError, match="step must be > 0"):
        FSGD(step=0.0)


@pytest.mark.parametrize("second_order", [True, False])
def test_second_order_graph_reaches_prior_only_when_enabled(tiny_model, second_order: bool) -> None:
    """With FSGD, x̂ depends on the prior's weights only through ∇ₓU: its training gradient
    must exist with create_graph=True and be absent otherwise."""
    model = tiny_model(solver={"type": "fsgd", "step": 0.05}, second_order=second_order).train()
    truth = torch.randn(2, 1, 8, 8)
    mask = (torch.rand(truth.shape) < 0.5).float()
    x_hat = model(truth * mask, mask, n_iter=3)
    loss = ((x_hat - truth) ** 2).mean()
    if not second_order:
        assert not x_hat.requires_grad   # nothing trainable on the path at all
        return
    loss.backward()
    grads = [p.grad for p in model.prior.parameters()]
    assert all(g is not None for g in grads)
    assert sum(g.abs().sum().item() for g in grads) > 0
    assert model.cost.log_lambda.grad is not None and model.cost.log_lambda.grad.abs() > 0


def test_gradient_flows_to_lstm_and_prior_in_joint_training(tiny_model) -> None:
    model = tiny_model().train()
    truth = torch.randn(2, 1, 8, 8)
    mask = (torch.rand(truth.shape) < 0.5).float()
    ((model(truth * mask, mask, n_iter=2) - truth) ** 2).mean().backward()
    for part in (model.prior, model.solver):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters())


def test_unknown_solver_lists_valid_names() -> None:
    with pytest.raises(ConfigError) as err:
        build_solver({"type": "adam"})
    for name in SOLVERS:
        assert repr(name) in str(err.value)
    with pytest.raises(ConfigError, match="valid choices"):
        build_model({"prior": {"type": "pca", "shape": [1, 4], "n_components": 1},
                     "solver": {"type": "newton"}, "axes": ["x"], "patch_shape": [4]})


def test_lstm_dropout_only_in_training(tiny_model) -> None:
    model = tiny_model(solver={"type": "lstm", "ndim": 2, "hidden": 4, "dropout": 0.5,
                               "periodic": [False, True]})
    y, mask = torch.randn(2, 1, 8, 8), (torch.rand(2, 1, 8, 8) < 0.5).float()
    model.eval()
    assert torch.equal(model(y, mask, n_iter=2), model(y, mask, n_iter=2))
    model.train()
    a, b = model(y, mask, n_iter=2), model(y, mask, n_iter=2)
    assert not torch.equal(a, b)


def test_lstm_scale_by_iterations_divides_each_update_by_k() -> None:
    torch.manual_seed(0)
    plain = ConvLSTMSolver(ndim=2, hidden=4, periodic=[False, True]).eval()
    scaled = ConvLSTMSolver(ndim=2, hidden=4, periodic=[False, True], scale_by_iterations=True).eval()
    scaled.load_state_dict(plain.state_dict())
    x, g = torch.randn(2, 1, 6, 8), torch.randn(2, 1, 6, 8)
    dx_plain = x - plain.step(x, g, plain.init_state(x, g, n_iter=5))[0]
    dx_scaled = x - scaled.step(x, g, scaled.init_state(x, g, n_iter=5))[0]
    torch.testing.assert_close(dx_scaled, dx_plain / 5)
    assert scaled.config["scale_by_iterations"] is True and "scale_by_iterations" not in plain.config
    with pytest.raises(ValueError, match="pass n_iter"):
        scaled.init_state(x, g)


def test_model_passes_its_iteration_count_to_the_solver() -> None:
    from varda.core.model import build_model
    cfg = {"prior": {"type": "unet", "ndim": 2, "hidden": 4, "periodic": [False, True]},
           "solver": {"type": "lstm", "ndim": 2, "hidden": 4, "periodic": [False, True],
                      "scale_by_iterations": True},
           "axes": ["time", "site"], "patch_shape": [8, 8], "n_iter": 3}
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    y, m = torch.randn(2, 1, 8, 8), (torch.rand(2, 1, 8, 8) < 0.5).float()
    one = model(y, m, n_iter=1)
    g, _ = model._grad(y * m, y * m, m, False)
    dx = model.solver.out(model.solver.cell(model.solver.init_state(y, g, n_iter=1)["alpha"] * g,
                                            *[torch.zeros(2, 4, 8, 8)] * 2)[0])
    torch.testing.assert_close(one, y * m - dx)          # K = 1: the full update
    assert build_model(model.config).solver.scale_by_iterations


def _split_model(seed: int = 0, second_order: bool = True):
    cfg = {"prior": {"type": "unet", "ndim": 2, "hidden": 4, "periodic": [False, True]},
           "solver": {"type": "lstm", "ndim": 2, "hidden": 4, "periodic": [False, True],
                      "split_grad": True},
           "axes": ["time", "site"], "patch_shape": [8, 8], "n_iter": 3,
           "second_order": second_order}
    torch.manual_seed(seed)
    return build_model(cfg)


def test_split_grad_inputs_sum_to_the_autograd_gradient() -> None:
    """The split solver gets [∇data, ∇λρ, Ω]; the two gradients add up to ∇ₓU."""
    model = _split_model().eval()
    torch.manual_seed(1)
    x, y = torch.randn(2, 1, 8, 8), torch.randn(2, 1, 8, 8)
    m = (torch.rand(2, 1, 8, 8) < 0.4).float()
    g, u = model._grad(x, y * m, m, False)
    assert g.shape == (2, 3, 8, 8)
    xg = x.clone().requires_grad_(True)
    (full,) = torch.autograd.grad(model.cost(xg, y * m, m, model.prior(xg)).sum(), xg)
    torch.testing.assert_close(g[:, :1] + g[:, 1:2], full, rtol=1e-5, atol=1e-6)
    assert torch.equal(g[:, 2:], m)
    assert torch.all(g[:, :1][m == 0] == 0)             # the data gradient lives on Ω only
    torch.testing.assert_close(u, model.cost(x, y * m, m, model.prior(x)))


def test_split_grad_scales_both_terms_by_the_total_gradient() -> None:
    """One α = 1 / RMS(∇data + ∇prior) for both terms: a common factor on ∇U leaves the steps
    unchanged, rescaling one term alone (a different λ) does not; Ω is passed unscaled."""
    torch.manual_seed(0)
    solver = ConvLSTMSolver(ndim=2, hidden=4, periodic=[False, True], split_grad=True).eval()
    x = torch.randn(2, 1, 6, 8)
    gd, gp = torch.randn(2, 1, 6, 8), torch.randn(2, 1, 6, 8)
    m = (torch.rand(2, 1, 6, 8) < 0.5).float()

    def run(g):
        return solver.step(x, g, solver.init_state(x, g))[0]

    ref = run(torch.cat([gd, gp, m], 1))
    torch.testing.assert_close(run(torch.cat([300.0 * gd, 300.0 * gp, m], 1)), ref,
                               rtol=1e-4, atol=1e-5)
    assert not torch.allclose(run(torch.cat([gd, 10.0 * gp, m], 1)), ref, atol=1e-3)
    assert not torch.allclose(run(torch.cat([gd, gp, 2 * m], 1)), ref, atol=1e-3)
    assert solver.config["split_grad"] is True
    assert "split_grad" not in ConvLSTMSolver(ndim=2, hidden=4).config


def test_split_grad_model_trains_second_order_and_round_trips(tmp_path) -> None:
    from varda.core.checkpoint import load, save
    model = _split_model().train()
    torch.manual_seed(2)
    x = torch.randn(4, 1, 8, 8)
    m = (torch.rand(4, 1, 8, 8) < 0.5).float()
    loss = ((model(x * m, m) - x) ** 2).mean()
    loss.backward()
    # the reconstruction loss reaches the prior through ∇λρ (second order) and the solver
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.prior.parameters())
    assert model.solver.cell.gates.conv.weight.grad.abs().sum() > 0
    save(model, tmp_path / "m")
    back = load(tmp_path / "m").eval()
    model.eval()
    torch.testing.assert_close(back(x * m, m), model(x * m, m))


def test_residual_input_appends_the_prior_residual() -> None:
    cfg = {"prior": {"type": "unet", "ndim": 2, "hidden": 4, "periodic": [False, True]},
           "solver": {"type": "lstm", "ndim": 2, "hidden": 4, "periodic": [False, True],
                      "split_grad": True, "residual_input": True},
           "axes": ["time", "site"], "patch_shape": [8, 8], "n_iter": 3}
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    x, y = torch.randn(2, 1, 8, 8), torch.randn(2, 1, 8, 8)
    m = (torch.rand(2, 1, 8, 8) < 0.4).float()
    g, _ = model._grad(x, y * m, m, False)
    assert g.shape == (2, 4, 8, 8)
    torch.testing.assert_close(g[:, 3:], x - model.prior(x))
    state = model.solver.init_state(x, g)
    rms = (x - model.prior(x)).pow(2).mean((1, 2, 3)).sqrt()
    torch.testing.assert_close(state["alpha"][:, 3, 0, 0], 1.0 / rms)   # r scaled by its RMS
    assert torch.isfinite(model(y * m, m)).all()
    assert build_model(model.config).solver.residual_input
    with pytest.raises(ValueError, match="needs split_grad"):
        ConvLSTMSolver(ndim=2, hidden=4, residual_input=True)


@pytest.mark.parametrize("factors", [(2, 1), (2, 2), (1, 4)])
def test_coarsen_folds_sub_positions_into_channels_losslessly(factors) -> None:
    """Space-to-depth and back is the identity; each coarse cell's channels hold exactly the
    values of its block of the fine grid."""
    solver = ConvLSTMSolver(ndim=2, hidden=4, split_grad=True, coarsen=factors)
    t = torch.randn(2, 3, 8, 12)
    coarse = solver._to_coarse(t)
    a, b = factors
    assert coarse.shape == (2, 3 * a * b, 8 // a, 12 // b)
    torch.testing.assert_close(solver._to_fine(coarse), t, rtol=0, atol=0)
    # cell (1, 2) of the coarse grid holds the fine block [a:2a, 2b:3b] of every channel
    block = t[:, :, a:2 * a, 2 * b:3 * b].reshape(2, 3, a * b).reshape(2, 3 * a * b)
    torch.testing.assert_close(coarse[:, :, 1, 2], block, rtol=0, atol=0)


def test_coarsened_solver_runs_on_the_coarse_grid_and_keeps_equivariance() -> None:
    torch.manual_seed(0)
    solver = ConvLSTMSolver(ndim=2, hidden=4, kernel=3, periodic=[False, True],
                            coarsen=[2, 1])
    x, g = torch.randn(2, 1, 6, 8), torch.randn(2, 1, 6, 8)
    state = solver.init_state(x, g)
    assert state["h"].shape == (2, 4, 3, 8)
    x1, state = solver.step(x, g, state)
    assert x1.shape == x.shape and state["h"].shape == (2, 4, 3, 8)
    step = lambda a, b: solver.step(a, b, solver.init_state(a, b))[0]  # noqa: E731
    # periodic sites at full resolution: equivariant to any cyclic site shift
    torch.testing.assert_close(step(x.roll(3, 3), g.roll(3, 3)), step(x, g).roll(3, 3))
    # and the update at a time step depends on both members of its coarse pair
    g2 = g.clone()
    g2[:, :, 3] += 1.0
    d = (step(x, g2) - step(x, g)).abs().sum(dim=(0, 1, 3))
    assert d[2] > 0 and d[3] > 0


def test_coarsened_solver_model_round_trips_and_rejects_bad_sizes(tmp_path) -> None:
    from varda.core.checkpoint import load, save
    model = build_model({
        "prior": {"type": "unet", "ndim": 2, "hidden": 4, "depth": 0, "blind": True,
                  "pool": [2, 1], "periodic": [False, True]},
        "solver": {"type": "lstm", "ndim": 2, "hidden": 4, "split_grad": True,
                   "periodic": [False, True], "coarsen": [2, 1]},
        "cost": {}, "axes": ["time", "site"], "patch_shape": [8, 6], "n_iter": 3}).eval()
    torch.manual_seed(1)
    x = torch.randn(2, 1, 8, 6)
    m = (torch.rand(2, 1, 8, 6) < 0.5).float()
    save(model, tmp_path / "m")
    back = load(tmp_path / "m").eval()
    assert back.solver.coarsen == (2, 1)
    torch.testing.assert_close(back(x * m, m), model(x * m, m))
    with pytest.raises(ValueError, match="not a multiple of the solver's coarsen factor 2"):
        model.solver.init_state(torch.zeros(1, 1, 7, 6), torch.ones(1, 3, 7, 6))
    with pytest.raises(ValueError, match="coarsen factors must be >= 1"):
        ConvLSTMSolver(ndim=2, coarsen=[0, 1])


def test_components_describe_their_fixed_axes_and_inputs():
    """Priors, solvers and first guesses say which axes cannot be tiled and what they consume;
    the model takes the union (no layer reads config strings)."""
    from varda.core import build_model
    from varda.core.priors import build_prior
    from varda.core.solvers import build_solver

    assert build_prior({"type": "unet", "ndim": 2, "hidden": 4, "periodic": [False, True]}
                       ).fixed_axes(2) == (False, True)
    assert build_prior({"type": "flow", "ode": {"type": "lorenz96"}, "time_axis": 0}
                       ).fixed_axes(2) == (False, True)
    folded = build_solver({"type": "fold", "axis": 1, "inner": {"type": "lstm", "ndim": 1,
                                                                  "channels": 8, "hidden": 4,
                                                                  "split_grad": True}})
    assert folded.fixed_axes(2) == (False, False) and folded.n_inputs == 3   # folds tile
    assert build_solver({"type": "fsgd"}).n_inputs == 1
    model = build_model({"axes": ["t", "y", "x"], "patch_shape": [4, 8, 8],
                         "prior": {"type": "unet", "ndim": 3, "hidden": 4, "pool": 2,
                                   "periodic": [False, False, True]},
                         "solver": {"type": "lstm", "ndim": 3, "hidden": 4}})
    assert model.fixed_axes == (False, False, True)


def test_components_say_which_lengths_their_grids_need():
    """U-Net pooling and ConvLSTM coarsening factors combine (least common multiple) into the
    model's size_multiples, which callers check before training."""
    from varda.core import build_model

    model = build_model({"axes": ["t", "y", "x"], "patch_shape": [4, 8, 8],
                         "prior": {"type": "unet", "ndim": 3, "hidden": 4, "pool": [1, 2, 2]},
                         "solver": {"type": "lstm", "ndim": 3, "hidden": 4,
                                    "coarsen": [2, 1, 4]}})
    assert model.size_multiples == (2, 2, 4)
    folded = build_model({"axes": ["t", "s"], "patch_shape": [8, 6],
                          "prior": {"type": "fold", "axis": 1,
                                    "inner": {"type": "unet", "ndim": 1, "channels": 6,
                                              "hidden": 4, "pool": 4}},
                          "solver": {"type": "fsgd"}})
    assert folded.size_multiples == (4, 1)
