"""fit(): history, best-epoch restore, modes, self-supervision, seeds, curriculum."""
from __future__ import annotations

import math

import pytest
import torch

from varda.core.trainer import MODES, default_schedule, evaluate_mse, fit
from varda.errors import ConfigError

KW = dict(batch_size=16, lr=5e-3, progress=False, seed=0)


def _data(n: int, seed: int):
    """Smooth periodic 8×8 (time, site) fields with half of the points observed."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(8.0).view(1, 1, 8, 1)
    s = torch.arange(8.0).view(1, 1, 1, 8)
    a, b = torch.randn(2, n, 1, 1, 1, generator=g)
    x = a * torch.sin(2 * torch.pi * s / 8 + 0.3 * t) + b * torch.cos(2 * torch.pi * s / 8)
    mask = (torch.rand(x.shape, generator=g) < 0.5).float()
    y = torch.where(mask > 0, x + 0.05 * torch.randn(x.shape, generator=g),
                    torch.full_like(x, float("nan")))
    return x, y, mask


def _params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def _changed(before: dict, module: torch.nn.Module) -> bool:
    return any(not torch.equal(before[n], p) for n, p in module.named_parameters())


def test_fit_returns_history_and_improves(tiny_model) -> None:
    model = tiny_model()
    x, y, m = _data(48, 0)
    seen = []
    hist = fit(model, x, y, m, epochs=4, n_iter_schedule={0: 1, 2: 3}, callback=seen.append, **KW)
    assert len(hist) == 4 and seen == hist
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4]
    assert [h["n_iter"] for h in hist] == [1, 1, 3, 3]
    for h in hist:
        assert set(h) >= {"epoch", "n_iter", "train_loss", "val_mse", "lambda", "time_s"}
        assert h["lambda"] > 0 and math.isfinite(h["train_loss"])   # neither NaN nor ±inf
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert not model.training
    info = model.meta["training"]
    assert info["epochs_run"] == 4 and info["mode"] == "joint" and info["seed"] == 0


def test_fit_restores_best_validation_epoch(tiny_model) -> None:
    """Wreck the model after epoch 2: the later epochs validate badly and fit must give back
    the best weights, whose validation MSE is the best one in the history."""
    model = tiny_model()
    x, y, m = _data(40, 0)
    val = _data(16, 1)

    def wreck(entry: dict) -> None:
        if entry["epoch"] == 2:
            with torch.no_grad():
                for p in model.solver.parameters():
                    p.add_(5.0 * torch.randn_like(p))

    hist = fit(model, x, y, m, val=val, epochs=4, n_iter_schedule={0: 2}, callback=wreck, **KW)
    best = min(range(4), key=lambda i: hist[i]["val_mse"])
    assert best <= 1 and hist[3]["val_mse"] > hist[best]["val_mse"]
    assert model.meta["training"]["best_epoch"] == best + 1
    xv, yv, mv = val
    got = evaluate_mse(model, xv, torch.nan_to_num(yv) * mv, mv, n_iter=2)
    assert got == pytest.approx(hist[best]["val_mse"], rel=1e-6)


def test_mode_solver_freezes_prior_and_restores_flags(tiny_model) -> None:
    model = tiny_model()
    prior0, solver0 = _params(model.prior), _params(model.solver)
    fit(model, *_data(32, 0), mode="solver", epochs=2, n_iter_schedule={0: 2}, **KW)
    assert not _changed(prior0, model.prior)
    assert _changed(solver0, model.solver)
    assert all(p.requires_grad for p in model.prior.parameters())


def test_mode_prior_trains_only_the_prior(tiny_model) -> None:
    model = tiny_model()
    prior0, solver0 = _params(model.prior), _params(model.solver)
    lam0 = model.cost.lam.item()
    hist = fit(model, *_data(32, 0), mode="prior", epochs=2, **KW)
    assert _changed(prior0, model.prior)
    assert not _changed(solver0, model.solver) and model.cost.lam.item() == lam0
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]


def test_mode_joint_trains_everything(tiny_model) -> None:
    model = tiny_model()
    before = _params(model)
    fit(model, *_data(32, 0), mode="joint", epochs=2, n_iter_schedule={0: 2}, **KW)
    for part in (model.prior, model.solver, model.cost):
        names = [n for n, _ in part.named_parameters()]
        assert any(not torch.equal(before[k], v) for k, v in model.named_parameters()
                   if any(k.endswith(n) for n in names))


def test_self_supervised_fit_without_truth(tiny_model) -> None:
    model = tiny_model()
    _, y, m = _data(32, 0)
    solver0 = _params(model.solver)
    hist = fit(model, None, y, m, epochs=2, n_iter_schedule={0: 2}, holdout=0.3, **KW)
    assert len(hist) == 2
    assert all(torch.isfinite(torch.tensor(h["val_mse"])) and h["val_mse"] > 0 for h in hist)
    assert _changed(solver0, model.solver)
    with pytest.raises(ValueError, match="pass x"):
        fit(model, None, y, m, mode="prior", epochs=1, **KW)


def test_same_seed_same_result(tiny_model) -> None:
    """On the CPU the same seed gives bitwise the same weights and history."""
    runs = []
    for _ in range(2):
        model = tiny_model(seed=7)
        hist = fit(model, *_data(32, 0), epochs=2, n_iter_schedule={0: 2},
                   **{**KW, "seed": 4, "device": "cpu"})
        runs.append(([(h["train_loss"], h["val_mse"]) for h in hist], model.state_dict()))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])
    model = tiny_model(seed=7)
    other = fit(model, *_data(32, 0), epochs=2, n_iter_schedule={0: 2},
                **{**KW, "seed": 5, "device": "cpu"})
    assert [h["train_loss"] for h in other] != [loss for loss, _ in runs[0][0]]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_same_seed_close_result_on_cuda_and_model_comes_home(tiny_model) -> None:
    """On CUDA, atomics in cuDNN's backward make runs differ in the last bits only; the
    model trained on the GPU comes back on the CPU it started on."""
    states = []
    for _ in range(2):
        model = tiny_model(seed=7)
        fit(model, *_data(32, 0), epochs=2, n_iter_schedule={0: 2},
            **{**KW, "seed": 4, "device": "cuda"})
        assert all(p.device.type == "cpu" for p in model.parameters())
        states.append(model.state_dict())
    for k in states[0]:
        torch.testing.assert_close(states[0][k], states[1][k], rtol=1e-4, atol=1e-5)


def test_unknown_mode_lists_valid_modes(tiny_model) -> None:
    with pytest.raises(ConfigError) as err:
        fit(tiny_model(), *_data(8, 0), mode="finetune", epochs=1, **KW)
    for mode in MODES:
        assert repr(mode) in str(err.value)


def test_frozen_everything_is_an_error(tiny_model) -> None:
    model = tiny_model(solver={"type": "fsgd", "step": 0.1},
                       cost={"rho": "square", "learn_lambda": False})
    with pytest.raises(ValueError, match="nothing to train"):
        fit(model, *_data(8, 0), mode="solver", epochs=1, **KW)


def test_fit_applies_normalisation(tiny_model) -> None:
    """Raw units in, normalised training: shifting and scaling the data together with the
    normalisation gives the same training run."""
    x, y, m = _data(24, 0)
    hists = []
    for mean, std in ((0.0, 1.0), (280.0, 4.0)):
        model = tiny_model(seed=1).set_normalization(mean, std)
        hists.append(fit(model, x * std + mean, y * std + mean, m, epochs=1,
                         n_iter_schedule={0: 2}, **KW))
    assert hists[0][0]["val_mse"] == pytest.approx(hists[1][0]["val_mse"], rel=1e-3)


def test_default_schedule_ramps_to_n_iter() -> None:
    sched = default_schedule(10, 20)
    assert sched[0] == 1 and sched[max(sched)] == 20 and max(sched) <= 5
    ks = [sched[e] for e in sorted(sched)]
    assert ks == sorted(ks) and len(set(ks)) == len(ks)
    assert default_schedule(1, 5) == {0: 5}


def test_solver_mode_with_true_physics_prior() -> None:
    """Frozen Lorenz-96 flow prior (true physics), only the ConvLSTM (and λ) trained."""
    from varda.core.model import build_model
    from varda.core.ode import Lorenz96, rk4_step
    g = torch.Generator().manual_seed(0)
    x0 = 8.0 + torch.randn(48, 1, 8, generator=g)
    f = Lorenz96()
    x0 = rk4_step(f, x0, 1.0, 20)
    steps = [x0]
    for _ in range(7):
        steps.append(rk4_step(f, steps[-1], 0.05, 2))
    x = torch.stack(steps, dim=2)                       # (48, 1, time 8, site 8)
    mask = (torch.rand(x.shape, generator=g) < 0.5).float()
    y = x + 0.1 * torch.randn(x.shape, generator=g)
    torch.manual_seed(0)
    model = build_model({"prior": {"type": "flow", "ode": {"type": "lorenz96"}, "dt": 0.05,
                                   "n_substeps": 2},
                         "solver": {"type": "lstm", "ndim": 2, "hidden": 6,
                                    "periodic": [False, True]},
                         "axes": ["time", "site"], "patch_shape": [8, 8], "n_iter": 3})
    # raw units: the flow prior's ODE acts on the model's working units
    hist = fit(model, x, y, mask, mode="solver", epochs=4, n_iter_schedule={0: 3}, val_fraction=0.25,
               **{**KW, "lr": 1e-2})
    assert min(h["val_mse"] for h in hist[1:]) < hist[0]["val_mse"]
    assert model.prior.ode.forcing.item() == 8.0


def test_steps_per_epoch_draws_fixed_number_of_batches(tiny_model) -> None:
    model = tiny_model()
    x, y, m = _data(44, 0)          # 40 training + 4 validation samples
    seen_batches = []
    orig = model.forward

    def spy(yb, *a, **k):
        seen_batches.append(yb.shape[0])
        return orig(yb, *a, **k)

    model.forward = spy
    hist = fit(model, x, y, m, epochs=3, steps_per_epoch=2, batch_size=8,
               n_iter_schedule={0: 1}, **{k: v for k, v in KW.items() if k != "batch_size"})
    assert len(hist) == 3
    # 2 training batches of 8 per epoch, the stream wrapping over the 40 training samples
    train_calls = [b for b in seen_batches if b == 8]
    assert len(train_calls) == 6 and len(seen_batches) == 6 + 3    # + one validation call/epoch
    with pytest.raises(ValueError, match="steps_per_epoch"):
        fit(tiny_model(), x, y, m, epochs=1, steps_per_epoch=0, **KW)


def test_cosine_lr_decays_from_lr0_to_final_factor() -> None:
    from varda.core.trainer import _cosine_lr
    groups = [{"lr0": 1e-2, "lr": 1e-2}, {"lr0": 2e-3, "lr": 2e-3}]
    _cosine_lr(groups, 0.1, 0.0)
    assert groups[0]["lr"] == pytest.approx(1e-2) and groups[1]["lr"] == pytest.approx(2e-3)
    _cosine_lr(groups, 0.1, 0.5)
    assert groups[0]["lr"] == pytest.approx(1e-2 * 0.55)
    _cosine_lr(groups, 0.1, 1.0)
    assert groups[0]["lr"] == pytest.approx(1e-3) and groups[1]["lr"] == pytest.approx(2e-4)
    _cosine_lr(groups, 0.1, 7.0)                       # clipped to the end of the schedule
    assert groups[0]["lr"] == pytest.approx(1e-3)


def test_fit_with_lr_final_changes_the_trajectory(tiny_model) -> None:
    x, y, m = _data(32, 0)
    a, b = tiny_model(), tiny_model()
    b.load_state_dict(a.state_dict())
    ha = fit(a, x, y, m, epochs=3, n_iter_schedule={0: 2}, **KW)
    hb = fit(b, x, y, m, epochs=3, n_iter_schedule={0: 2}, lr_final=5e-4, **KW)
    assert ha[0]["train_loss"] == pytest.approx(hb[0]["train_loss"])  # first epoch: full lr
    assert ha[-1]["train_loss"] != hb[-1]["train_loss"]


def test_ema_validates_and_returns_the_averaged_weights_and_trains_the_raw_ones(
        tiny_model) -> None:
    """With ``ema`` the training trajectory is unchanged (the raw weights go on training), the
    history scores the averaged weights, and the model returned is the averaged snapshot of
    the best epoch."""
    x, y, m = _data(40, 0)
    val = _data(16, 1)
    kw = {**KW, "device": "cpu", "epochs": 3, "n_iter_schedule": {0: 2}}
    plain_model, ema_model = tiny_model(seed=3), tiny_model(seed=3)
    plain = fit(plain_model, x, y, m, val=val, **kw)
    avg = fit(ema_model, x, y, m, val=val, ema=0.9, **kw)
    assert [h["train_loss"] for h in avg] == [h["train_loss"] for h in plain]
    assert [h["val_mse"] for h in avg] != [h["val_mse"] for h in plain]
    best = min(range(3), key=lambda i: avg[i]["val_mse"])
    xv, yv, mv = val
    got = evaluate_mse(ema_model, xv, torch.nan_to_num(yv) * mv, mv, n_iter=2)
    assert got == pytest.approx(avg[best]["val_mse"], rel=1e-6)
    assert any(not torch.equal(a, b) for a, b in zip(ema_model.parameters(),
                                                      plain_model.parameters()))
    with pytest.raises(ValueError, match="ema must be a decay in"):
        fit(tiny_model(), x, y, m, val=val, ema=1.0, **kw)
