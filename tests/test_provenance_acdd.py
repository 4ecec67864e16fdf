"""Filled files carry ACDD-1.3 global attributes (from the input, or saying what was filled),
one correct reference (the ICASSP 2021 paper; the OI's when an OI background is used), and
``varda_inputs`` describes in-memory data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import xarray as xr

import varda
from varda.provenance import OI_REFERENCE, REFERENCES, references

CONFIG = {"prior": {"type": "unet", "ndim": 2, "hidden": 4, "pool": [2, 2]},
          "solver": {"type": "lstm", "ndim": 2, "hidden": 4},
          "axes": ["lat", "lon"], "patch_shape": [8, 8], "n_iter": 1}


def _sst() -> xr.DataArray:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(5, 8, 8)).astype("float32")
    v[rng.random(v.shape) < 0.3] = np.nan
    return xr.DataArray(v, dims=("time", "lat", "lon"), name="sst",
                        coords={"time": pd.date_range("2001-03-01", periods=5)})


def test_acdd_attributes_and_one_reference(tmp_path):
    torch.manual_seed(0)
    model = varda.build_model(CONFIG)
    filled = _sst().varda.fill(model)
    assert filled.attrs["varda_inputs"] == ("in-memory DataArray sst (time=5, lat=8, lon=8), "
                                            "time 2001-03-01 to 2001-03-05")
    filled.attrs["institution"] = "Some Lab"          # what a user sets before writing
    path = varda.to_netcdf(filled, tmp_path / "f.nc")
    with xr.open_dataset(path) as ds:
        a = ds.attrs
    assert a["title"] == "sst, gaps filled by varda" and "sst" in a["summary"]
    assert a["institution"] == "Some Lab" and "varda" in a["source"]
    assert pd.Timestamp(a["date_created"]).year >= 2024
    assert "ACDD-1.3" in a["Conventions"] and "CF-1.8" in a["Conventions"]
    assert a["references"] == REFERENCES and "ICASSP 2021" in a["references"]
    assert "Journal of Advances" not in a["references"]


def test_input_title_is_kept_and_oi_is_cited_when_used():
    assert references({"background": {"kind": "oi"}}).splitlines() == [REFERENCES, OI_REFERENCE]
    assert references({"background": {"kind": "running_mean"}}) == REFERENCES
    from varda.io.encoding import prepare
    ds = _sst().to_dataset()
    ds.attrs.update(title="NOAA SST", creator_name="A. Person", Conventions="CF-1.6")
    out = prepare(ds, "call()")
    assert out.attrs["title"] == "NOAA SST (gaps filled by varda)"
    assert out.attrs["creator_name"] == "A. Person"
    assert out.attrs["Conventions"] == "CF-1.6, ACDD-1.3"
