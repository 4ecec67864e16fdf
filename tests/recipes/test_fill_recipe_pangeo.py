"""recipes/fill_archive_pangeo.py runs locally: LocalCluster, open_mfdataset, Zarr output."""
from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "fill_archive_pangeo.py"


def test_recipe_runs_on_a_local_cluster(tmp_path, monkeypatch, capsys):
    pytest.importorskip("eofs")
    out = tmp_path / "filled.zarr"
    monkeypatch.setattr(sys, "argv", [str(RECIPE), "--train-epochs", "1", "--out", str(out)])
    # the recipe trains with varda.train and keeps the observations
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(RECIPE), run_name="__main__")
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "on 2 workers" in text and "trained " in text
    assert xr.open_zarr(out).sst.attrs["varda_keep_observed"] == 1
    sst = xr.open_zarr(out).sst
    assert sst.sizes["time"] == 50 and sst.dtype == np.float64   # the archive's dtype
    land = sst.isnull().all("time")
    assert 0 < float(land.mean()) < 0.5  # land kept as NaN, the ocean filled
    assert np.isfinite(sst.where(~land).values[np.broadcast_to(~land.values, sst.shape)]).all()
