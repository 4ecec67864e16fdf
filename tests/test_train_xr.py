"""Training from xarray data (supervised and self-supervised), patch cutting, `varda train`."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

import varda
from varda.array.sampling import cut_patches, patch_starts
from varda.cli.main import main
from varda.core.presets import model_config
from varda.core.training import evaluate_mse
from varda.datasets.masks import cloud_masks
from varda.errors import ConfigError, InputError
from varda.xr.train import train


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
    cfg = model_config(("lat", "lon"), (16, 16), hidden=4, n_iter=2)
    model = train(obs, cfg, epochs=1, batch_size=8, progress=False, mask=False)
    assert model.meta["training"]["supervised"] is False
    filled = varda.fill(obs, model, mask=False)
    assert not np.isnan(filled.values).any()
    assert np.isnan(obs.values).any()  # the input was not modified


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
