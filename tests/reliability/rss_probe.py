"""Peak RSS of a streamed fill: ``python rss_probe.py MODEL STEPS OUT.zarr`` prints JSON.

A lazy (member=8, time=STEPS, site=8) archive, 40 % missing, is filled with dask in chunks of
512 steps and streamed to Zarr region by region; the process's peak resident memory is read
from getrusage at the end. Run in a fresh process per length, so each peak is its own.
"""
from __future__ import annotations

import json
import resource
import sys
import time

import torch


def main() -> None:
    model, steps, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(1)
    import dask
    import dask.array as da
    import numpy as np
    import xarray as xr

    import varda

    dask.config.set(scheduler="threads", num_workers=2)
    shape, chunks = (8, steps, 8), (8, 512, 8)
    rs = da.random.RandomState(0)
    x = da.cumsum(rs.standard_normal(shape, chunks=chunks), axis=1).astype(np.float32) / 4
    x = da.where(rs.random_sample(shape, chunks=chunks) < 0.4, np.float32(np.nan), x)
    t0 = time.perf_counter()
    filled = xr.DataArray(varda.fill(x, model), dims=("member", "time", "site"), name="u")
    varda.to_zarr(filled, out, region_dim="time", region_size=2048)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux → MiB
    print(json.dumps({"steps": steps, "points": int(np.prod(shape)), "wall_s": round(wall, 2),
                      "peak_rss_mib": round(peak, 1)}))


if __name__ == "__main__":
    main()
