#!/usr/bin/env python
"""Do two versions of varda give the same results? A check for refactors (no timing).

``save`` fills fixed inputs with every shipped model (NumPy, dask, DataArray, Dataset, the
accessor; with and without ``keep_observed``) and trains two tiny models (a given
configuration, and the automatic ``eof`` candidate), then saves every output array, weight and
validation score; ``compare`` says which of them differ bit for bit between two saves::

    PYTHONPATH=/path/to/old/src python benchmarks/same_outputs.py save /tmp/before.npz
    PYTHONPATH=src python benchmarks/same_outputs.py save /tmp/after.npz
    python benchmarks/same_outputs.py compare /tmp/before.npz /tmp/after.npz

About 2 minutes on one CPU thread.
"""
from __future__ import annotations

import json
import sys
import warnings

import numpy as np


def gappy(shape, frac: float = 0.4, seed: int = 0) -> np.ndarray:
    """A random walk along the first axis with a fraction ``frac`` of NaN."""
    r = np.random.default_rng(seed)
    t = np.cumsum(r.normal(size=shape), axis=0).astype("float32")
    t[r.random(shape) < frac] = np.nan
    return t


def save(path: str) -> None:
    """Fill, train and save every output to ``path`` (.npz)."""
    import dask.array as dsa
    import torch
    import xarray as xr

    import varda

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    out = {}
    # L96 models: (time, site) 200 x 40, two windows
    for name in ("l96-rk4-lstm", "l96-unet-joint"):
        y = gappy((2, 200, 40), seed=1)
        out[name + "/np"] = varda.fill(y, name, n_iter=4)
        lazy = varda.fill(dsa.from_array(y, chunks=(1, 200, 40)), name, n_iter=4)
        out[name + "/dask"] = lazy.compute()
        out[name + "/keep"] = varda.fill(y[0], name, n_iter=3, keep_observed=True)
    y = gappy((3, 28, 28), seed=2)
    out["mnist/np"] = varda.fill(y, "mnist-unet-joint")
    # SST: (time, lat, lon) with background, DataArray and Dataset
    t = gappy((30, 48, 60), frac=0.6, seed=3)
    da = xr.DataArray(t, dims=("time", "lat", "lon"), name="sst",
                      coords={"time": np.arange(30), "lat": np.linspace(20, 30, 48),
                              "lon": np.linspace(0, 10, 60)})
    f = varda.fill(da, "sst-osse")
    out["sst/da"] = f.values
    out["sst/flag"] = f["sst_observed"].values
    ds = xr.Dataset({"sst": da, "sst2": da * 2})
    fds = varda.fill(ds, "sst-osse")
    out["sst/ds"] = fds["sst2"].values
    fdk = varda.fill(da.chunk({"time": 15}), "sst-osse").compute()
    out["sst/dask"] = fdk.values
    out["sst/acc"] = da.varda.fill("sst-osse", n_iter=2).values
    out["sst/attrs"] = np.array(json.dumps({k: str(v) for k, v in f.attrs.items()
                                            if k not in ("history", "date_created")},
                                           sort_keys=True))
    # tiny trainings
    cfg = varda.model_config(("time", "lat", "lon"), (6, 16, 16), hidden=4)
    m = varda.train(da, cfg, epochs=2, progress=False, steps_per_epoch=2, batch_size=4)
    for k, v in m.state_dict().items():
        out["train_cfg/" + k] = v.numpy()
    out["train_cfg/n_iter"] = np.array(m.n_iter)
    out["train_cfg/hist"] = np.array([[h["val_mse"], h["train_loss"]]
                                      for h in m.meta["training"]["history"]])
    t2 = gappy((60, 32, 32), frac=0.5, seed=4)
    da2 = xr.DataArray(t2, dims=("time", "lat", "lon"), name="sst")
    m2 = varda.train(da2, epochs=2, progress=False, steps_per_epoch=2, candidates=["eof"], seed=3)
    for k, v in m2.state_dict().items():
        out["train_auto/" + k] = v.numpy()
    out["train_auto/n_iter"] = np.array(m2.n_iter)
    out["train_auto/n_iter_max"] = np.array(m2.meta["n_iter_max"])
    tr = m2.meta["training"]
    out["train_auto/sweep"] = np.array(list(tr.get("val_mse_by_n_iter", {}).values()), dtype=float)
    out["train_auto/hist"] = np.array([[h["val_mse"], h["train_loss"]] for h in tr["history"]])
    card = {k: sorted(v) if isinstance(v, dict) else v for k, v in m2.meta.items()
            if k != "training"}
    out["train_auto/meta_keys"] = np.array(json.dumps(card, sort_keys=True, default=str))
    np.savez(path, **out)
    print(f"saved {len(out)} arrays to {path}")


def compare(a_path: str, b_path: str) -> int:
    """Print the arrays that differ (NaN equal to NaN); returns the number that differ."""
    a, b = np.load(a_path), np.load(b_path)
    names = sorted(set(a.files) | set(b.files))
    bad = [k for k in names if k not in a.files or k not in b.files
           or a[k].shape != b[k].shape
           or not (np.array_equal(a[k], b[k]) if a[k].dtype.kind in "USO"
                   else np.array_equal(a[k], b[k], equal_nan=True))]
    print(f"{len(names)} arrays compared, {len(bad)} differ{': ' + ', '.join(bad) if bad else ''}")
    return len(bad)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "save":
        save(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(1 if compare(sys.argv[2], sys.argv[3]) else 0)
    else:
        sys.exit(__doc__)
