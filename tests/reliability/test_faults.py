"""Faults while a fill runs: killed dask workers, a model file changed or deleted, a full disk."""
from __future__ import annotations

import errno
import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import varda
from varda.array import model_cache
from varda.errors import CheckpointError, OutputError
from varda.io import zarr_status
from test_resume import lazy_fill, same_store


def test_a_killed_dask_worker_does_not_change_the_result(ws):
    """LocalCluster with worker processes: SIGKILL one while it computes fill tasks; the nanny
    restarts it, dask reruns its tasks, and the result equals an uninterrupted run's."""
    import distributed  # a hard dependency: imported, never skipped
    import dask
    from varda.array import worker_malloc_config
    ref = lazy_fill(ws.input, ws.model, n_iter=20).data.compute(scheduler="threads")
    with dask.config.set(worker_malloc_config()), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=None, silence_logs=50) as cluster, \
            distributed.Client(cluster) as client:
        pids = client.run(os.getpid)                    # {worker address: pid}
        future = client.compute(lazy_fill(ws.input, ws.model, n_iter=20).data)
        victim = None
        for _ in range(6000):                           # wait until a worker holds fill tasks
            busy = [w for w, keys in client.processing().items()
                    if any("varda-fill" in str(k) for k in keys)]
            if busy:
                victim = busy[0]
                break
            threading.Event().wait(0.005)
        assert victim is not None, "no fill task ran"
        os.kill(pids[victim], signal.SIGKILL)
        out = future.result(timeout=120)
        assert pids[victim] not in client.run(os.getpid).values()   # it really died
    np.testing.assert_array_equal(out, ref)
    ws.check()


def _other_model(path: Path) -> None:
    """Overwrite the checkpoint at ``path`` with another model's (other weights)."""
    import torch
    from fill_helpers import L96_LIKE
    torch.manual_seed(7)
    varda.build_model(L96_LIKE).set_normalization(0.0, 3.0).save(path)


def _private_model(ws) -> str:
    import shutil
    src = Path(ws.model)
    js = ws.root / "mine.json"
    shutil.copy(src, js)
    shutil.copy(src.with_suffix(".safetensors"), ws.root / src.with_suffix(".safetensors").name)
    return str(js)


def test_model_file_changed_while_the_fill_runs(ws, monkeypatch):
    """Each region loads the model where it runs (here: a fresh cache, as on a new worker);
    a checkpoint rewritten mid-fill is refused, never mixed, and the store stays resumable
    only with the original model."""
    import varda.io.zarr_store as zs
    model = _private_model(ws)
    real = zs.mark_done

    def mark_done(store, index, storage_options=None):
        real(store, index, storage_options)
        if index == 0:
            _other_model(Path(model))
            model_cache.clear_cache()     # the next region's worker loads from disk

    monkeypatch.setattr(zs, "mark_done", mark_done)
    out = ws.root / "out.zarr"
    with pytest.raises(CheckpointError, match="changed since the fill was planned"):
        varda.to_zarr(lazy_fill(ws.input, model), out, region_size=16)
    monkeypatch.undo()
    assert zarr_status(out)["regions_done"] == 1
    with pytest.raises(OutputError, match=r"the model \(u: sha256"):
        varda.to_zarr(lazy_fill(ws.input, model), out, region_size=16)
    ws.check()


def test_model_file_deleted_while_the_fill_runs(ws):
    model = _private_model(ws)
    lazy = lazy_fill(ws.input, model)
    model_cache.clear_cache()
    Path(model).unlink()
    with pytest.raises(CheckpointError, match="can no longer be loaded.*deleted or rewritten"):
        lazy.compute()
    ws.check()


class DiskFull:
    """Zarr's local store raises ENOSPC after ``after`` chunk writes (a filling disk)."""

    def __init__(self, monkeypatch, after: int) -> None:
        import zarr.storage
        self.left = after
        real = zarr.storage.LocalStore.set

        async def set_(store, key, value):
            if "/" in key and not key.rsplit("/", 1)[-1].startswith("."):   # chunk data
                if self.left <= 0:
                    raise OSError(errno.ENOSPC, "No space left on device", str(store))
                self.left -= 1
            return await real(store, key, value)

        monkeypatch.setattr(zarr.storage.LocalStore, "set", set_)


def test_disk_full_while_writing_zarr_keeps_finished_regions(ws, monkeypatch):
    ref = varda.to_zarr(lazy_fill(ws.input, ws.model), ws.root / "ref.zarr", region_size=16)
    out = ws.root / "out.zarr"
    DiskFull(monkeypatch, after=4)     # u and u_observed: 2 chunks per region
    with pytest.raises(OutputError, match=r"no space left .*out.zarr.*MiB more needed.*1 of 4 "
                                          r"regions are kept.*rerun the same command"):
        varda.to_zarr(lazy_fill(ws.input, ws.model), out, region_size=16)
    monkeypatch.undo()                 # space freed
    assert zarr_status(out)["regions_done"] == 1
    with pytest.warns(varda.errors.VardaWarning, match="1 of 4 regions were already written"):
        varda.to_zarr(lazy_fill(ws.input, ws.model), out, region_size=16)
    same_store(out, ref)
    ws.check()


def test_disk_full_while_writing_netcdf_leaves_the_old_output(ws, monkeypatch):
    real = xr.Dataset.to_netcdf

    def to_netcdf(ds, path, *a, **k):
        Path(path).write_bytes(b"\x89HDF partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(xr.Dataset, "to_netcdf", to_netcdf)
    with xr.open_dataset(ws.input) as src:
        filled = src.u.varda.fill(ws.model)
    with pytest.raises(OutputError, match=r"no space left .*earlier.nc.*MiB more needed.*"
                                          r"existing output is unchanged"):
        varda.to_netcdf(filled, ws.earlier_nc, overwrite=True)
    monkeypatch.setattr(xr.Dataset, "to_netcdf", real)
    assert not [p for p in os.listdir(ws.root) if p.endswith(".tmp")]
    ws.check()


def test_not_enough_space_is_refused_before_computing(ws, monkeypatch):
    import shutil

    import varda.io.safety as safety
    from varda.core.model import VarModel
    usage = shutil.disk_usage(ws.root)
    monkeypatch.setattr(safety.shutil, "disk_usage",
                        lambda p: usage._replace(free=1000))
    monkeypatch.setattr(VarModel, "reconstruct", lambda *a, **k: pytest.fail("computed"))
    with pytest.raises(OutputError, match=r"not enough space for .*new.nc.*needs about "
                                          r"0.0 MiB .*has 0.0 MiB free"):
        varda.to_netcdf(lazy_fill(ws.input, ws.model), ws.root / "new.nc")
    assert not (ws.root / "new.nc").exists()
    ws.check()

