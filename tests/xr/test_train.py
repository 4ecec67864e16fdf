"""Training from xarray data (supervised and self-supervised), patch cutting, `varda train`."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import xarray as xr

import varda
from varda.array.background.field import background
from varda.array.sampling import cut_patches, patch_starts
from varda.cli.main import main
from varda.core.presets import model_config
from varda.core.trainer import evaluate_mse
from varda.datasets.masks import cloud_masks
from varda.errors import ConfigError, InputError
from varda.xr.train import train
from varda.training.autoconfig import em_pca, lag_correlation, plan_from_data
from varda.training.holdouts import BorrowedClouds
from varda.training.splits import time_blocks


def smooth_fields(n: int = 48, ny: int = 16, nx: int = 16, seed: int = 0) -> xr.DataArray:
    """Random smooth fields: sums of a few low-wavenumber sinusoids."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:ny, 0:nx] / 8.0
    out = np.zeros((n, ny, nx), np.float32)
    for _ in range(4):
        k, l, ph = rng.uniform(0.5, 2.0), rng.uniform(0.5, 2.0), rng.uniform(0, 6.3, n)
        amp = rng.normal(1.0, 0.3, n)
        out += (amp[:, None, None] * np.sin(k * xx + l * yy + ph[:, None, None])).astype(np.float32)
    return xr.DataArray(out + 15.0, dims=("time", "lat", "lon"), name="sst",
                        coords={"time": np.arange(n), "lat": np.arange(ny), "lon": np.arange(nx)})


def test_patch_starts_cover_the_axis_and_end_flush():
    assert patch_starts(10, 4, 2) == [0, 2, 4, 6]
    assert patch_starts(11, 4, 4) == [0, 4, 7]
    with pytest.raises(InputError, match="shorter than the model's patch"):
        patch_starts(3, 4, 2)


def test_cut_patches_keeps_arrays_aligned_and_covers_every_point():
    a = np.arange(2 * 7 * 5, dtype=np.float32).reshape(2, 7, 5)
    pa, pb = cut_patches([a, -a], (4, 5), stride=(3, 5))
    assert pa.shape == (2 * 2, 4, 5)  # starts 0 and 3 along the 7-point axis
    np.testing.assert_array_equal(pb, -pa)
    assert set(np.unique(pa)) == set(a.ravel())
    with pytest.raises(InputError, match="differ in shape"):
        cut_patches([a, a[:1]], (4, 5))


def test_supervised_training_beats_the_untrained_model():
    truth = smooth_fields(n=96, ny=8, nx=8)
    obs = truth.where(cloud_masks(truth.shape, coverage=0.5, seed=1))
    cfg = model_config(("lat", "lon"), (8, 8), hidden=8, n_iter=3)
    torch.manual_seed(0)
    untrained = varda.build_model(cfg)
    model = train(obs, cfg, truth=truth, epochs=6, batch_size=8, lr=1e-2, progress=False)
    assert model.meta["training"]["supervised"] is True
    assert model.meta["training"]["dims"] == {"lat": "lat", "lon": "lon"}
    assert abs(model.norm_mean - float(obs.mean())) < 1e-3
    untrained.set_normalization(model.norm_mean, model.norm_std)
    y = torch.from_numpy(np.nan_to_num(model.normalize(torch.from_numpy(obs.values)).numpy()))[:, None]
    m = torch.from_numpy(np.isfinite(obs.values))[:, None].float()
    x = model.normalize(torch.from_numpy(truth.values))[:, None]
    assert evaluate_mse(model, x, y, m) < 0.6 * evaluate_mse(untrained, x, y, m)


def test_self_supervised_training_from_a_gappy_archive_then_fill():
    truth = smooth_fields(n=24)
    obs = truth.where(cloud_masks(truth.shape, coverage=0.5, seed=2))
    before = obs.copy(deep=True)
    cfg = model_config(("lat", "lon"), (16, 16), hidden=4, n_iter=2)
    model = train(obs, cfg, epochs=1, batch_size=8, progress=False, mask=False)
    assert model.meta["training"]["supervised"] is False
    filled = varda.fill(obs, model, mask=False)
    assert not np.isnan(filled.values).any()
    xr.testing.assert_identical(obs, before)  # the input was not modified (values, NaN, attrs)


def test_train_refuses_bad_input():
    truth = smooth_fields(n=4)
    cfg = model_config(("lat", "lon"), (16, 16), hidden=4, n_iter=1)
    with pytest.raises(InputError, match="same grid"):
        train(truth, cfg, truth=truth.isel(time=slice(0, 2)), epochs=1, progress=False)
    with pytest.raises(InputError, match="dtype"):
        train(truth.astype(int), cfg, epochs=1, progress=False)
    with pytest.raises(InputError, match="lacks the model axis 'depth'"):
        train(truth, model_config(("depth", "lon"), (4, 16)), epochs=1, progress=False)
    with pytest.raises(ConfigError, match="valid choices"):
        model_config(("lat", "lon"), (16, 16), prior="dineof")


def test_cli_train_then_fill(tmp_path):
    truth = smooth_fields(n=12)
    obs = truth.where(cloud_masks(truth.shape, coverage=0.4, seed=3))
    src = tmp_path / "obs.nc"
    obs.to_dataset().to_netcdf(src)
    stem = tmp_path / "models" / "sst"
    rc = main(["train", str(src), "--var", "sst", "--axes", "lat,lon", "--patch", "lat=8,lon=8",
               "--hidden", "4", "--n-iter", "2", "--epochs", "1", "--no-progress", "-o", str(stem)])
    assert rc == 0
    model = varda.load(stem)
    assert model.patch_shape == (8, 8) and model.axes == ("lat", "lon")
    assert model.meta["trained_by"]["var"] == "sst"
    out = tmp_path / "filled.nc"
    assert main(["fill", str(src), "--var", "sst", "--model", str(stem) + ".json",
                 "--no-progress", "-o", str(out)]) == 0
    with xr.open_dataset(out) as ds:
        assert ds["sst"].isnull().sum() == 0
    assert main(["train", str(src), "--var", "nope", "-o", str(stem)]) == 2


def test_training_a_model_with_a_learned_first_guess():
    """The first guess trains first (on the same patches), then the solver starts from it."""
    truth = smooth_fields(n=48, ny=8, nx=8)
    obs = truth.where(cloud_masks(truth.shape, coverage=0.6, seed=3))
    cfg = model_config(("time", "lat", "lon"), (8, 8, 8), hidden=4, n_iter=2, first_guess=True)
    assert cfg["first_guess"]["periodic"] == [False, False]
    model = train(obs, cfg, truth=truth, epochs=3, first_guess_epochs=4, batch_size=4,
                  lr=1e-2, progress=False)
    fg_hist = model.meta["training"]["first_guess_history"]
    assert len(fg_hist) == 4 and len(model.meta["training"]["history"]) == 3
    assert fg_hist[-1]["val_mse"] < fg_hist[0]["val_mse"]
    filled = varda.fill(obs, model)
    assert filled.shape == obs.shape and not np.isnan(filled.values).any()
    with pytest.raises(InputError, match="first guess, which trains on true states"):
        train(obs, cfg, epochs=1, progress=False)
    with pytest.raises(ValueError, match="put the time axis first"):
        model_config(("lat", "lon"), (8, 8), first_guess=True)


def test_cli_train_with_a_first_guess(tmp_path, capsys):
    truth = smooth_fields(n=16, ny=8, nx=8)
    ds = xr.Dataset({"sst": truth.where(cloud_masks(truth.shape, coverage=0.5, seed=4)),
                     "sst_true": truth})
    src = tmp_path / "obs.nc"
    ds.to_netcdf(src)
    stem = tmp_path / "fg"
    common = ["train", str(src), "--var", "sst", "--axes", "time,lat,lon",
              "--patch", "time=8,lat=8,lon=8", "--hidden", "4", "--n-iter", "1", "--epochs", "1",
              "--first-guess", "--no-progress", "-o", str(stem)]
    assert main(common) == 2                              # no truth: a clear error
    assert "--truth-var" in capsys.readouterr().err
    assert main([*common, "--truth-var", "sst_true"]) == 0
    model = varda.load(stem)
    assert model.first_guess is not None
    assert len(model.meta["training"]["first_guess_history"]) == 1


def drifting_fields(n: int = 40, ny: int = 16, nx: int = 16, seed: int = 0) -> xr.DataArray:
    """Smooth fields that drift slowly in time (neighbouring steps correlate), with land."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:ny, 0:nx] / 6.0
    t = np.arange(n)[:, None, None] / 6.0
    out = np.zeros((n, ny, nx), np.float32)
    for _ in range(3):
        k, l, w, ph = rng.uniform(0.5, 1.5, 4)
        out += np.sin(k * xx + l * yy + w * t + 6 * ph).astype(np.float32)
    out[:, :3, :4] = np.nan                                      # land
    return xr.DataArray(out + 15.0, dims=("time", "lat", "lon"), name="sst",
                        coords={"time": np.arange(n), "lat": np.arange(ny), "lon": np.arange(nx)})


def test_borrowed_clouds_hide_only_observed_points_in_cloud_shapes():
    bank = torch.from_numpy(cloud_masks((8, 1, 16, 16), coverage=0.5, seed=5))
    holdout = BorrowedClouds(bank, keep_min=0.0)
    mask = torch.ones(4, 1, 16, 16)
    mask[:, :, :4] = 0
    hide = holdout(mask, torch.Generator().manual_seed(0))
    assert hide.dtype == torch.bool and not hide[:, :, :4].any()
    # each sample's hidden set is exactly the cloud of one bank entry, inside its observed part
    for h in hide:
        assert any(bool((h[:, 4:] == ~b[:, 4:]).all()) for b in bank)
    thin = BorrowedClouds(bank, keep_min=0.8)(mask, torch.Generator().manual_seed(0))
    assert float(thin.float().mean()) < 0.8 * float(hide.float().mean())


def test_time_blocks_separate_training_and_validation():
    tr, va = time_blocks(100, block=10, val_fraction=0.2, seed=1)
    steps_tr = {t for a, b in tr for t in range(a, b)}
    steps_va = {t for a, b in va for t in range(a, b)}
    assert not steps_tr & steps_va and steps_tr | steps_va == set(range(100))
    assert len(steps_va) == 20
    with pytest.raises(InputError, match="too short"):
        time_blocks(15, block=10)


def test_plan_chooses_a_time_window_only_for_correlated_steps():
    drift = drifting_fields().values
    assert lag_correlation(drift)[0] > 0.5
    plan = plan_from_data(drift, ["time", "lat", "lon"])
    assert plan.window > 1 and plan.axes == ["time", "lat", "lon"]
    assert plan.patch == [plan.window, 16, 16] and set(plan.candidates) == {"eof", "unet"}
    indep = smooth_fields(n=40).values
    plan2 = plan_from_data(indep, ["time", "lat", "lon"])
    assert plan2.window == 1 and plan2.axes == ["lat", "lon"]
    with pytest.raises(InputError, match="at least 8"):
        plan_from_data(indep[:5], ["time", "lat", "lon"])
    sparse = np.where(np.random.default_rng(0).random(indep.shape) < 0.05, indep, np.nan)
    with pytest.raises(InputError, match="only .* observed values; training needs at least"):
        plan_from_data(sparse, ["time", "lat", "lon"])


def test_plan_background_is_the_best_held_out_setting_and_the_card_says_so():
    from varda.array.background.field import BASELINE_OI, setting_key

    truth = smooth_fields(n=40)
    obs = truth.where(cloud_masks(truth.shape, coverage=0.5, seed=2)).values
    plan = plan_from_data(obs, ["time", "lat", "lon"], seed=1)
    scores = plan.card()["background_scores"]
    chosen = scores[setting_key(plan.background)]
    assert chosen == min(scores.values())
    assert chosen <= scores[setting_key(BASELINE_OI)]    # never worse than the OI baseline's
    assert "OI baseline's default" in plan.card()["why"]["background"]


def test_em_pca_recovers_a_low_rank_field_from_gappy_samples():
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(3, 50))
    data = rng.normal(size=(80, 3)) @ basis
    seen = rng.random(data.shape) < 0.6
    mu, comps = em_pca(data, seen, 3)
    rec = (data - mu) @ comps @ comps.T + mu
    assert np.sqrt(np.mean((rec - data) ** 2)) < 0.05 * data.std()


def test_automatic_training_chooses_by_validation_and_records_it():
    truth = drifting_fields()
    clear = cloud_masks(truth.shape, coverage=0.5, seed=3)
    obs = truth.where(clear)
    before = obs.copy(deep=True)
    model = varda.train(obs, epochs=2, progress=False, steps_per_epoch=3)
    tr = model.meta["training"]
    assert set(tr["candidates"]) == {"eof", "unet"}
    assert tr["chosen"] == min(tr["candidates"], key=lambda k: tr["candidates"][k]["val_mse"])
    assert tr["auto_config"]["window"] > 1
    assert tr["stop_reason"] in ("epochs", "early_stopping")
    assert model.meta["n_iter_max"] == model.n_iter
    assert model.meta["fill_defaults"] == {"keep_observed": True}
    seg = tr["split"]
    assert seg["time_dim"] == "time" and seg["val_segments"]
    assert tr["holdout"].startswith("clouds borrowed")
    assert model.meta["model_card"]["validation_mse_normalised"]
    filled = varda.fill(obs, model, keep_observed=True)
    land = np.isnan(truth.values[0])
    assert np.isnan(filled.values[:, land]).all() and np.isfinite(filled.values[:, ~land]).all()
    xr.testing.assert_identical(obs, before)                        # input untouched


def test_time_capped_training_keeps_the_validated_iteration_count():
    obs = smooth_fields(n=48).where(cloud_masks((48, 16, 16), coverage=0.5, seed=1))
    cfg = model_config(("lat", "lon"), (16, 16), hidden=4, n_iter=8)
    model = train(obs, cfg, epochs=50, max_time=0.01, progress=False)
    tr = model.meta["training"]
    assert tr["stop_reason"] == "max_time" and tr["epochs_run"] < 50
    assert model.n_iter == tr["history"][tr["best_epoch"] - 1]["n_iter"] < 8
    assert model.meta["n_iter_max"] == model.n_iter and tr["n_iter_configured"] == 8


def test_train_fine_tunes_a_copy_of_a_given_model():
    obs = smooth_fields(n=24).where(cloud_masks((24, 16, 16), coverage=0.5, seed=1))
    cfg = model_config(("lat", "lon"), (16, 16), hidden=4, n_iter=2)
    base = varda.build_model(cfg)
    w0 = {k: v.clone() for k, v in base.state_dict().items()}
    tuned = train(obs, base, epochs=1, progress=False)
    assert tuned is not base
    assert all(torch.equal(w0[k], v) for k, v in base.state_dict().items())


def test_train_refuses_bad_archives_with_the_fix():
    da = drifting_fields(n=20)
    with pytest.raises(InputError, match="duplicated"):
        varda.train(da.isel(time=[0, 1, 1, 2, 3, 4, 5, 6, 7, 8]))
    with pytest.raises(InputError, match="not sorted.*sortby"):
        varda.train(da.isel(time=slice(None, None, -1)))
    with pytest.raises(InputError, match="at least 8"):
        varda.train(da.isel(time=slice(0, 5)))
    with pytest.raises(InputError, match="no point to fill"):
        varda.train(da, mask=xr.zeros_like(da.isel(time=0), dtype=bool))
    shifted = da.assign_coords(lat=da.lat + 0.5)
    with pytest.raises(InputError, match="same grid"):
        varda.train(da, truth=shifted)
    with pytest.raises(InputError, match="not a multiple of 2.*use a patch_shape of 14 or 16"):
        train(da, model_config(("lat", "lon"), (15, 16), pool=2), epochs=1, progress=False)


def test_cli_train_automatic_and_clear_errors(tmp_path, capsys):
    truth = drifting_fields(n=24)
    obs = truth.where(cloud_masks(truth.shape, coverage=0.4, seed=3))
    src = tmp_path / "obs.nc"
    obs.to_dataset().to_netcdf(src)
    stem = tmp_path / "auto"
    assert main(["train", str(src), "--var", "sst", "--epochs", "1", "--no-progress",
                 "-o", str(stem)]) == 0
    model = varda.load(stem)
    assert model.meta["training"]["chosen"] in ("eof", "unet")
    assert model.meta["n_iter_max"] == model.n_iter
    capsys.readouterr()
    cfg = tmp_path / "odd.json"
    cfg.write_text(json.dumps(model_config(("lat", "lon"), (9, 8), pool=2, hidden=4)))
    rc = main(["train", str(src), "--var", "sst", "--config", str(cfg), "--no-progress",
               "-o", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert rc == 2 and "size of 9 along 'lat' is not a multiple of 2" in err
    assert "of 8 or 10 along that axis" in err
    assert "epoch" not in err and not (tmp_path / "bad.json").exists()   # before training
    assert "model_config(" not in err and "da." not in err
    assert main(["train", str(src), "--var", "sst", "--axes", "depth,lon",
                 "-o", str(tmp_path / "bad")]) == 2
    assert "--axes" in capsys.readouterr().err


def test_automatic_models_fill_anomalies_from_a_running_background(tmp_path):
    truth = drifting_fields()
    obs = truth.where(cloud_masks(truth.shape, coverage=0.5, seed=4))
    model = varda.train(obs, epochs=1, progress=False, steps_per_epoch=2, candidates=["eof"])
    assert model.meta["background"]["length_scale"] > 0
    assert model.meta["background"]["kind"] == "oi"
    filled = varda.fill(obs, model)
    seen = np.isfinite(obs.values)
    np.testing.assert_array_equal(filled.values[seen], obs.values[seen])   # observations exact
    with pytest.raises(InputError, match="background_axis"):
        varda.fill(obs.values, model)
    # with no solver iteration the gaps get the background (plus the normalised zero)
    bg = background(obs.values, 0, model.meta["background"])
    start = varda.fill(obs, model, n_iter=0).values
    gaps = ~seen & ~np.isnan(truth.values)
    np.testing.assert_allclose(start[gaps], bg[gaps] + model.norm_mean, rtol=1e-5, atol=1e-5)
    ocean = ~np.isnan(truth.values[0])
    arr = varda.fill(obs.values, model, background_axis=0)
    np.testing.assert_allclose(arr[:, ocean], filled.values[:, ocean], rtol=1e-5, atol=1e-5)
    model.save(tmp_path / "m")
    lazy = varda.fill(obs.chunk({"time": 12}), varda.load(tmp_path / "m"))
    np.testing.assert_allclose(lazy.values, filled.values, rtol=1e-5, atol=1e-5)
    # varda.train calibrates the error of its fills on held-out clouds of another seed
    assert "(seed 1)" in model.meta["calibration"]["fitted_on"]
    ds = varda.fill(obs, varda.load(tmp_path / "m"), error=True)
    err = ds["sst_error"].values[:, ocean]
    assert np.isfinite(err).all() and (err > 0).all()
    assert err[~seen[:, ocean]].mean() > err[seen[:, ocean]].mean()


def test_held_out_marks_hide_whole_borrowed_clouds_on_some_steps():
    from varda.training.holdouts import held_out_marks

    seen = cloud_masks((60, 16, 16), coverage=0.5, seed=2)
    hid = held_out_marks(seen, 0, seed=0)
    assert not (hid & ~seen).any()                                   # observed points only
    steps = hid.reshape(60, -1).any(axis=1)
    assert 5 <= steps.sum() <= 30                                    # about 30 % of the steps
    for t in np.flatnonzero(steps):                                  # a whole borrowed cloud
        donors = [s for s in range(60) if s != t and np.array_equal(hid[t], seen[t] & ~seen[s])]
        assert donors
    assert np.array_equal(hid, held_out_marks(seen, 0, seed=0))
    assert not np.array_equal(hid, held_out_marks(seen, 0, seed=1))
    moved = held_out_marks(np.moveaxis(seen, 0, 2), 2, seed=0)       # any time axis
    assert np.array_equal(np.moveaxis(moved, 2, 0), hid)


def test_train_applies_the_iteration_count_that_validates_best(monkeypatch):
    """``varda.train`` sweeps K = 0..n_iter on validation and must *apply* the best K: once on
    the real sweep, once on a sweep whose best K (1) differs from the trained K (3)."""
    obs = smooth_fields(n=48).where(cloud_masks((48, 16, 16), coverage=0.5, seed=1))
    cfg = model_config(("lat", "lon"), (16, 16), hidden=4, n_iter=3)
    model = train(obs, cfg, epochs=1, progress=False)
    sweep = {int(k): v for k, v in model.meta["training"]["val_mse_by_n_iter"].items()}
    assert sorted(sweep) == [0, 1, 2, 3]
    assert model.n_iter == min(sweep, key=lambda k: (sweep[k], k))
    # varda.training.choice runs the sweep and applies its best K
    from varda.training import choice
    scores = [0.9, 0.2, 0.5, 0.7]
    monkeypatch.setattr(choice, "sweep_n_iter",
                        lambda m, *args, **kw: {k: scores[k] for k in range(m.n_iter + 1)})
    model = train(obs, cfg, epochs=1, progress=False)
    tr = model.meta["training"]
    assert tr["val_mse_by_n_iter"] == {"0": 0.9, "1": 0.2, "2": 0.5, "3": 0.7}
    assert model.n_iter == 1 and tr["n_iter_trained"] == 3 and tr["best_val_mse"] == 0.2
