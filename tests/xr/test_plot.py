"""``filled.varda.plot(time=...)``: panels on longitude/latitude with units, the error panel
when the fill carries one (CF ancillary_variables or the ``_error`` suffix)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

import varda  # noqa: E402,F401  (registers .varda)
from varda.errors import InputError  # noqa: E402


def _filled(with_error: bool, link: bool = True) -> xr.Dataset:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(3, 6, 8)).astype("float32") + 15
    seen = (rng.random(v.shape) < 0.5).astype("int8")
    coords = {"time": pd.date_range("2001-03-01", periods=3),
              "lat": ("lat", np.linspace(-10, 10, 6), {"units": "degrees_north",
                                                       "standard_name": "latitude"}),
              "lon": ("lon", np.linspace(100, 140, 8), {"units": "degrees_east",
                                                        "standard_name": "longitude"})}
    ds = xr.Dataset({"sst": (("time", "lat", "lon"), v,
                             {"units": "degC", "long_name": "sea surface temperature",
                              "varda_model": "m"}),
                     "sst_observed": (("time", "lat", "lon"), seen)}, coords=coords)
    if with_error:
        ds["sst_error"] = (("time", "lat", "lon"), np.abs(v - 15), {"units": "degC"})
        if link:
            ds.sst.attrs["ancillary_variables"] = "sst_observed sst_error"
    return ds


@pytest.mark.parametrize("with_error,link", [(False, False), (True, True), (True, False)])
def test_panels_have_coordinate_axes_units_and_error_when_present(with_error, link):
    ds = _filled(with_error, link)
    fig = ds.varda.plot(time="2001-03-02")
    axes = [a for a in fig.axes if a.get_title()]
    titles = [a.get_title() for a in axes]
    expected = ["observations", "fill"] + (["estimated error"] if with_error else []) + \
        ["observed (1) / filled (0)"]
    assert titles == expected
    for a in axes:
        assert "degrees_east" in a.get_xlabel() and "degrees_north" in a.get_ylabel()
        lo, hi = a.get_xlim()
        assert 95 <= lo and hi <= 145               # longitudes, not grid indices
    assert "2001-03-02" in fig._suptitle.get_text() and "degC" in fig._suptitle.get_text()
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_filled_dataarray_uses_its_observed_coordinate():
    ds = _filled(False)
    da = ds.sst.assign_coords(sst_observed=ds.sst_observed)
    fig = da.varda.plot(time=0)
    assert [a.get_title() for a in fig.axes if a.get_title()][0] == "observations"
    assert "2001-03-01" in fig._suptitle.get_text()
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_clear_errors():
    ds = _filled(False)
    ds["other"] = ds.sst.copy()
    ds.other.attrs.pop("varda_model")
    with pytest.raises(InputError, match="variable='nope' is not in the Dataset"):
        ds.varda.plot(variable="nope")
    ds.sst.attrs.pop("varda_model")
    with pytest.raises(InputError, match="say which with variable="):
        ds.varda.plot()
