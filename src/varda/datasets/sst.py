"""Real NOAA SST anomalies (Pacific, 50 winters × 18 × 30, with land) shipped in ``eofs``."""
from __future__ import annotations

import xarray as xr


def noaa_sst_anomalies() -> xr.DataArray:
    """The NDJFM-mean SST anomalies of the ``eofs`` example data (K; NaN over land).

    Needs the ``eofs`` package (a test extra of varda)."""
    try:
        from eofs.examples import example_data_path
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the NOAA SST example needs the 'eofs' package: pip install eofs") from e
    with xr.open_dataset(example_data_path("sst_ndjfm_anom.nc")) as ds:
        da = ds["sst"].load()
    return da.astype("float32")
