"""A fill comes back in the input's float dtype (at least float32) and keeps observed points
bit-identical: NumPy and dask, with and without a background, and through the writers."""
from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import torch
import xarray as xr

import varda

CONFIG = {"prior": {"type": "unet", "ndim": 2, "hidden": 4, "pool": [2, 2]},
          "solver": {"type": "lstm", "ndim": 2, "hidden": 4},
          "axes": ["lat", "lon"], "patch_shape": [8, 8], "n_iter": 1}


def _model(background: bool, tmp_path) -> varda.VarModel:
    torch.manual_seed(0)
    m = varda.build_model(CONFIG).set_normalization(0.1, 1.3)
    if background:
        m.meta["background"] = {"kind": "running_mean", "time_scale": 4.0}
    m.save(tmp_path / "m")                      # dask workers load it by path
    return varda.load(tmp_path / "m")


def _obs(dtype) -> np.ndarray:
    rng = np.random.default_rng(0)
    # values that float32 cannot represent exactly (a float32 round trip changes them)
    y = (rng.normal(size=(6, 8, 8)) * 3.0 + 20.0 + 1e-9).astype(dtype)
    y[rng.random(y.shape) < 0.4] = np.nan
    return y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("background", [False, True])
@pytest.mark.parametrize("lazy", [False, True])
def test_observed_points_bit_identical_in_the_input_dtype(dtype, background, lazy, tmp_path):
    y = _obs(dtype)
    before = y.copy()
    src = da.from_array(y, chunks=(3, 8, 8)) if lazy else y
    out = varda.fill(src, _model(background, tmp_path), keep_observed=True,
                     **({"background_axis": 0} if background else {}))
    assert out.dtype == np.dtype(dtype)
    out = np.asarray(out)
    obs = np.isfinite(y)
    assert np.array_equal(out[obs], y[obs])               # bit-identical, not allclose
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(y, before, strict=True)  # the input is untouched


def test_float16_comes_back_float32(tmp_path):
    y = _obs(np.float32).astype(np.float16)
    out = varda.fill(y, _model(False, tmp_path), keep_observed=True)
    assert out.dtype == np.float32
    obs = np.isfinite(y)
    assert np.array_equal(out[obs], y[obs].astype(np.float32))


def test_float64_is_written_as_float64(tmp_path):
    y = xr.DataArray(_obs(np.float64), dims=("time", "lat", "lon"), name="sst")
    filled = y.varda.fill(_model(False, tmp_path), keep_observed=True)
    assert filled.dtype == np.float64
    path = varda.to_netcdf(filled, tmp_path / "f.nc")
    with xr.open_dataset(path) as back:
        assert back.sst.dtype == np.float64
        obs = np.isfinite(y.values)
        assert np.array_equal(back.sst.values[obs], y.values[obs])
