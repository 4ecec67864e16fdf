"""Real data: NOAA NDJFM SST anomalies shipped with eofs (50 winters × 18 × 30, with land)."""
from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
import xarray as xr

import varda
from fill_helpers import sst2d_path, sst3d_path  # noqa: F401  (fixtures)

eofs_examples = pytest.importorskip("eofs.examples")
SST = eofs_examples.example_data_path("sst_ndjfm_anom.nc")


def _digest(path) -> tuple[str, float]:
    return hashlib.sha256(open(path, "rb").read()).hexdigest(), os.stat(path).st_mtime


@pytest.fixture()
def sst_with_gaps():
    ds = xr.open_dataset(SST)
    land = ds.sst.isnull().all("time")
    rng = np.random.default_rng(0)
    cloud = xr.DataArray(rng.random(ds.sst.shape) < 0.35, dims=ds.sst.dims)
    return ds, ds.sst.where(~cloud), land, cloud


@pytest.mark.parametrize("model_fixture", ["sst3d_path", "sst2d_path"])
def test_land_stays_nan_ocean_gaps_filled_input_untouched(request, model_fixture, sst_with_gaps,
                                                          tmp_path):
    before = _digest(SST)
    ds, sst, land, cloud = sst_with_gaps
    assert 0 < float(land.mean()) < 0.5  # the file really has land
    model = request.getfixturevalue(model_fixture)
    filled = sst.chunk({"time": 25}).varda.fill(model, keep_observed=True)
    out = varda.to_netcdf(filled, tmp_path / "sst_filled.nc", inputs=[SST])
    back = xr.open_dataset(out)
    assert back.sst.dims == ("time", "latitude", "longitude")
    assert back.sst.where(land).isnull().all()  # land: NaN at every step
    ocean = np.broadcast_to(~land.values, back.sst.shape)
    assert np.isfinite(back.sst.values[ocean]).all()  # no NaN leaks into the ocean
    observed = np.isfinite(sst.values)
    np.testing.assert_array_equal(back.sst.values[observed], sst.values[observed])  # bit-identical
    gaps = cloud.values & ocean
    assert float(back.sst.attrs["varda_fraction_filled"]) == pytest.approx(
        gaps.sum() / ocean.sum(), abs=1e-5)
    assert _digest(SST) == before
    with pytest.raises(varda.OutputError, match="is the input"):
        varda.to_netcdf(filled, SST)
    assert _digest(SST) == before
