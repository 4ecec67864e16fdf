"""Fill an SST archive on a dask cluster, Pangeo style, and stream the result to Zarr.

On a Pangeo hub (an existing dask-gateway / dask.distributed cluster, data on object storage):

    python recipes/fill_archive_pangeo.py \\
        --address tcp://scheduler:8786 \\
        --archive 's3://my-bucket/sst/sst_*.nc' --var sst \\
        --model ./models/sst.json \\
        --out s3://my-bucket/sst_filled.zarr --chunks time=120

With no ``--address`` it runs locally: a ``LocalCluster`` of 2 workers, and (with no
``--archive``) a demo archive cut from the NOAA SST anomalies shipped with ``eofs``, one NetCDF
file per decade with 35 % of the ocean hidden; with no ``--model`` it trains one with
``varda.train`` defaults on the archive's own observations (self-supervised) and fills with
it, keeping the observations (the model's default).

The steps are the ones to copy into a notebook:

1. ``Client(address)`` - every dask computation below runs on the cluster;
2. ``xr.open_mfdataset(files, chunks=...)`` - the archive stays lazy (remote files through
   fsspec, ``engine="h5netcdf"``);
3. ``model = varda.train(ds.sst.load())`` once (or a saved model / a shipped name), then
   ``ds.sst.varda.fill(model)`` - lazy, observations kept; the task graph carries the model's path and sha256,
   each worker loads it once (on its GPU if it has one);
4. ``varda.to_zarr(filled, url, storage_options=...)`` - computed and written region by region.
"""
from __future__ import annotations

import argparse
import glob
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr

import varda


def demo_archive(workdir: Path, seed: int = 0) -> str:
    """NOAA SST anomalies (eofs) with synthetic cloud gaps, one NetCDF file per decade."""
    from eofs.examples import example_data_path

    ds = xr.open_dataset(example_data_path("sst_ndjfm_anom.nc"))[["sst"]].load()
    rng = np.random.default_rng(seed)
    ds["sst"] = ds.sst.where(rng.random(ds.sst.shape) >= 0.35)
    for i in range(0, ds.sizes["time"], 10):
        ds.isel(time=slice(i, i + 10)).to_netcdf(workdir / f"sst_{i // 10:02d}.nc")
    return str(workdir / "sst_*.nc")


def open_archive(archive: str, chunks: dict, storage_options: "dict | None") -> xr.Dataset:
    """Open a Zarr store or a glob of NetCDF files (local or any fsspec URL), lazily."""
    if archive.rstrip("/").endswith(".zarr"):
        return xr.open_zarr(archive, storage_options=storage_options).chunk(chunks)
    if "://" in archive:  # object storage: open the files through fsspec
        import fsspec
        files = fsspec.open_files(archive, mode="rb", **(storage_options or {}))
        return xr.open_mfdataset([f.open() for f in files], engine="h5netcdf",
                                 combine="by_coords", chunks=chunks)
    return xr.open_mfdataset(sorted(glob.glob(archive)), combine="by_coords", chunks=chunks)


def train_model(sst: xr.DataArray, workdir: Path, epochs: "int | None",
                max_time: "float | None") -> str:
    """``varda.train`` defaults on the archive's own observations (self-supervised: an OI
    background plus a learned correction, chosen on held-out observations; a fixed amount of
    work planned from the data size and ``max_time``), saved so that workers can load it."""
    model = varda.train(sst, epochs=epochs, max_time=max_time, seed=0, progress=False)
    tr = model.meta["training"]
    print(f"trained {tr['chosen']!r} at K = {model.n_iter} "
          f"({tr['total_wall_time_s']:.0f} s; {tr.get('budget', {}).get('reason', '')})")
    return str(model.save(workdir / "sst-trained"))


def main(argv: "list[str] | None" = None) -> int:
    p = argparse.ArgumentParser(description="Fill an archive on a dask cluster → Zarr.")
    p.add_argument("--address", help="dask scheduler address (default: a local 2-worker cluster)")
    p.add_argument("--archive", help="glob of NetCDF files or a Zarr store (local or URL)")
    p.add_argument("--var", default="sst")
    p.add_argument("--model", help="checkpoint path or pretrained name (default: train one "
                   "with varda.train)")
    p.add_argument("--out", help="output Zarr store, local path or URL (s3://…)")
    p.add_argument("--chunks", default="time=20", help="dask chunks, e.g. time=120")
    p.add_argument("--train-epochs", type=int, default=None,
                   help="epochs per candidate (default: the work varda.train plans)")
    p.add_argument("--train-seconds", type=float, default=None,
                   help="varda.train's time budget (max_time; default its own, 150 s)")
    p.add_argument("--storage-options", default=None,
                   help='JSON fsspec options, e.g. \'{"anon": false}\'')
    args = p.parse_args(argv)
    import json

    from distributed import Client, LocalCluster

    storage = json.loads(args.storage_options) if args.storage_options else None
    chunks = {k: int(v) for k, v in (kv.split("=") for kv in args.chunks.split(","))}
    workdir = Path(tempfile.mkdtemp(prefix="varda-pangeo-"))
    cluster = None
    if args.address:
        client = Client(args.address)
    else:
        import dask

        from varda.array.cluster import worker_malloc_config
        with dask.config.set(worker_malloc_config()):  # torch runs 3-4x slower without it
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
    try:
        archive = args.archive or demo_archive(workdir)
        ds = open_archive(archive, chunks, storage)
        model = args.model or train_model(ds[args.var].load(), workdir, args.train_epochs,
                                          args.train_seconds)
        t0 = time.perf_counter()
        filled = ds[args.var].varda.fill(model, keep_observed=True)  # lazy
        out = args.out or str(workdir / "filled.zarr")
        varda.to_zarr(filled, out, storage_options=storage, progress=True)
        dt = time.perf_counter() - t0
        back = xr.open_zarr(out, storage_options=storage)[args.var]
        print(f"filled {back.attrs['varda_fraction_filled']:.1%} of {args.var} "
              f"({back.size} points, {dt:.1f} s on {len(client.scheduler_info()['workers'])} "
              f"workers) → {out}")
        print("history:", back.attrs["history"].splitlines()[0])
        if not args.archive and args.var == "sst":  # demo: score the hidden points
            from eofs.examples import example_data_path
            truth = xr.open_dataset(example_data_path("sst_ndjfm_anom.nc")).sst
            hidden = (back.sst_observed == 0) & truth.notnull()
            err = (back - truth).where(hidden)
            rmse = float(np.sqrt((err ** 2).mean()))
            base = float(np.sqrt((truth.where(hidden) ** 2).mean()))
            print(f"hidden ocean points: RMSE {rmse:.3f} K (zero-anomaly baseline {base:.3f} K)")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
