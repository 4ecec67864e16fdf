"""The shipped ``sst-osse`` model (rebuilt by ``python -m experiments.sst.run --ship``)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import varda
from varda.datasets.osse import make_sst_osse
from varda.metrics import rmse


@pytest.fixture(scope="module")
def model():
    assert "sst-osse" in varda.pretrained_names(), "the shipped sst-osse model is missing"
    return varda.load("sst-osse")


def test_card_names_the_command_and_the_data(model):
    card = model.meta["model_card"]
    assert card["command"].startswith("python -m experiments.sst.run --ship")
    assert "seed=100" in card["training_data"]
    assert model.meta["background"]["kind"] == "oi"
    assert model.meta["fill_defaults"] == {"keep_observed": True}
    assert model.n_iter <= model.meta["n_iter_max"]
    # the error calibration of fill(error=True), measured on its own training OSSE
    cal = model.meta["model_card"]["error_calibration"]
    assert cal["command"] == "python -m experiments.sst.error --only osse --ship"
    assert "seed 101" in model.meta["calibration"]["fitted_on"]


def test_fills_an_unseen_osse_better_than_climatology(model):
    o = make_sst_osse("tiny", seed=5)
    before = o.obs.copy(deep=True)
    filled = varda.fill(o.obs, model)
    xr.testing.assert_identical(o.obs, before)                      # input untouched
    land = o.obs.isnull().all("time")
    assert np.isnan(filled.values[:, land.values]).all()             # land stays NaN
    assert np.isfinite(filled.values[:, ~land.values]).all()         # no NaN in the ocean
    seen = np.isfinite(o.obs.values)
    np.testing.assert_array_equal(filled.values[seen], o.obs.values[seen])
    gaps = (~o.mask) & (~land)
    clim = o.obs.fillna(o.obs.mean("time"))
    assert rmse(filled, o.truth, gaps) < rmse(clim, o.truth, gaps)


def test_lazy_fill_on_worker_processes_matches_the_eager_fill(model):
    """The OI background's compiled kernel runs in dask worker processes, several chunks at a
    time, and gives what the eager fill gives."""
    import distributed  # a hard dependency: imported, never skipped
    o = make_sst_osse("tiny", seed=6)
    eager = varda.fill(o.obs, model)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        lazy = varda.fill(o.obs.chunk({"time": 10, "lat": 12, "lon": 16}), model)
        assert lazy.chunks is not None
        out = lazy.compute()
    np.testing.assert_allclose(out.values, eager.values, atol=1e-5, equal_nan=True)


def test_zarr_regions_of_a_background_fill_are_cut_across_time(model, tmp_path):
    """Every value of a fill with a background depends on the whole record along time: the
    writer streams along another dim, so the background is not recomputed once per region."""
    from varda.io import zarr_status
    from varda.io.zarr_store import default_region_dim
    o = make_sst_osse("tiny", seed=7)
    lazy = varda.fill(o.obs.chunk({"time": 10, "lat": 12}), model)
    assert lazy.attrs["varda_background_dim"] == "time"
    assert default_region_dim(lazy.to_dataset()) == "lat"
    assert json.loads(lazy.attrs["varda_solver"])["background"] == model.meta["background"]
    store = varda.to_zarr(lazy, tmp_path / "out.zarr", region_size=12)
    assert zarr_status(store)["regions_total"] == 2                  # 24 latitudes / 12
    with xr.open_zarr(store) as back:
        np.testing.assert_allclose(back[o.obs.name].values, varda.fill(o.obs, model).values,
                                   atol=1e-5, equal_nan=True)
    plain = xr.Dataset({"u": (("time", "site"), np.zeros((4, 3)))})
    assert default_region_dim(plain) == "time"                       # no background: the first
