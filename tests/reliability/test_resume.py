"""Resumable, atomic outputs: interrupted Zarr fills finish where they stopped, bit for bit."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import varda
from varda.errors import OutputError
from varda.io import zarr_status


def lazy_fill(path, model, **options):
    """The fill of ``path``'s variable u, lazily, in chunks of 16 steps (4 regions of 16)."""
    src = xr.open_dataset(path, chunks={"time": 16})
    return src.u.varda.fill(model, **options)


class Interrupt:
    """Make xarray's region writes raise KeyboardInterrupt (a Ctrl-C) after ``after`` regions."""

    def __init__(self, monkeypatch, after: int) -> None:
        self.after, self.calls = after, 0
        real = xr.Dataset.to_zarr

        def to_zarr(ds, *args, **kwargs):
            if kwargs.get("region"):
                if self.calls == self.after:
                    raise KeyboardInterrupt
                self.calls += 1
            return real(ds, *args, **kwargs)

        monkeypatch.setattr(xr.Dataset, "to_zarr", to_zarr)
        self.monkeypatch = monkeypatch

    def undo(self) -> None:
        self.monkeypatch.undo()


def same_store(a, b) -> None:
    """Two Zarr outputs with bit-identical data variables and coordinates."""
    with xr.open_zarr(a) as x, xr.open_zarr(b) as y:
        assert set(x.variables) == set(y.variables)
        for v in x.variables:
            np.testing.assert_array_equal(x[v].values, y[v].values, err_msg=v)


def test_interrupted_zarr_fill_resumes_bit_for_bit(ws, monkeypatch):
    ref = varda.to_zarr(lazy_fill(ws.input, ws.model), ws.root / "ref.zarr", region_size=16)
    out = ws.root / "out.zarr"
    cut = Interrupt(monkeypatch, after=2)
    with pytest.raises(KeyboardInterrupt):
        varda.to_zarr(lazy_fill(ws.input, ws.model), out, region_size=16)
    cut.undo()
    assert not out.exists()
    st = zarr_status(out)
    assert (st["status"], st["regions_done"], st["regions_total"]) == ("partial", 2, 4)
    again = Interrupt(monkeypatch, after=99)
    with pytest.warns(varda.errors.VardaWarning, match="2 of 4 regions were already written"):
        varda.to_zarr(lazy_fill(ws.input, ws.model), out, region_size=16)
    assert again.calls == 2                      # only the missing regions were written
    same_store(out, ref)
    assert zarr_status(out)["status"] == "complete" and not Path(f"{out}.partial").exists()
    ws.check()


def _interrupted(ws, monkeypatch, out, **options):
    cut = Interrupt(monkeypatch, after=1)
    with pytest.raises(KeyboardInterrupt):
        varda.to_zarr(lazy_fill(ws.input, ws.model, **options), out, region_size=16)
    cut.undo()


def test_rerun_with_another_model_is_refused_naming_it(ws, monkeypatch, tmp_path):
    out = ws.root / "out.zarr"
    _interrupted(ws, monkeypatch, out)
    import torch
    torch.manual_seed(1)
    from fill_helpers import L96_LIKE
    other = str(varda.build_model(L96_LIKE).set_normalization(0.0, 3.0).save(tmp_path / "other"))
    with pytest.raises(OutputError, match=r"the model \(u: sha256 .* before, .* now\) differ"):
        varda.to_zarr(lazy_fill(ws.input, other), out, region_size=16)
    assert zarr_status(out)["regions_done"] == 1   # the interrupted store is left as it was
    ws.check()


def test_rerun_with_other_options_is_refused_naming_the_option(ws, monkeypatch):
    out = ws.root / "out.zarr"
    _interrupted(ws, monkeypatch, out)
    with pytest.raises(OutputError, match=r"fill options \(u.n_iter: 2 before, 1 now\)"):
        varda.to_zarr(lazy_fill(ws.input, ws.model, n_iter=1), out, region_size=16)
    with pytest.raises(OutputError, match="--overwrite"):
        varda.to_zarr(lazy_fill(ws.input, ws.model, keep_observed=True), out, region_size=16)
    ws.check()


def test_rerun_after_an_input_changed_is_refused_naming_the_file(ws, monkeypatch):
    from conftest import archive
    src = ws.root / "moving.nc"
    archive().to_netcdf(src)
    out = ws.root / "out.zarr"
    cut = Interrupt(monkeypatch, after=1)
    with pytest.raises(KeyboardInterrupt):
        varda.to_zarr(lazy_fill(src, ws.model), out, region_size=16)
    cut.undo()
    archive(seed=5).to_netcdf(ws.root / "moving.new")   # the archive is replaced between runs
    os.replace(ws.root / "moving.new", src)
    os.utime(src, ns=(time.time_ns(), time.time_ns() + 10**9))
    with pytest.raises(OutputError, match=r"input files \(.*moving.nc changed"):
        varda.to_zarr(lazy_fill(src, ws.model), out, region_size=16)
    ws.check()


def test_overwrite_discards_an_interrupted_store(ws, monkeypatch):
    out = ws.root / "out.zarr"
    _interrupted(ws, monkeypatch, out, n_iter=1)
    varda.to_zarr(lazy_fill(ws.input, ws.model), out, region_size=16, overwrite=True)
    ref = varda.to_zarr(lazy_fill(ws.input, ws.model), ws.root / "ref.zarr", region_size=16)
    same_store(out, ref)
    ws.check()


def test_a_failed_overwrite_keeps_the_old_complete_store(ws, monkeypatch):
    before = ws.protect(ws.earlier_zarr)
    cut = Interrupt(monkeypatch, after=1)
    with pytest.raises(KeyboardInterrupt):
        varda.to_zarr(lazy_fill(ws.input, ws.model, n_iter=1), before, region_size=16,
                      overwrite=True)
    cut.undo()
    assert zarr_status(before)["status"] == "complete"   # the old store, untouched
    ws.check()


def test_resume_required_but_nothing_to_resume_is_refused(ws):
    with pytest.raises(OutputError, match="nothing to resume"):
        varda.to_zarr(lazy_fill(ws.input, ws.model), ws.root / "new.zarr", resume=True)
    assert not (ws.root / "new.zarr").exists()
    ws.check()


def test_object_storage_is_marked_partial_then_resumes(ws, monkeypatch):
    url = f"memory://reliability-{os.getpid()}-{id(ws)}/out.zarr"
    cut = Interrupt(monkeypatch, after=2)
    with pytest.raises(KeyboardInterrupt):
        varda.to_zarr(lazy_fill(ws.input, ws.model), url, region_size=16)
    cut.undo()
    assert xr.open_zarr(url).attrs["varda_status"] == "partial"
    assert zarr_status(url)["regions_done"] == 2
    with pytest.warns(varda.errors.VardaWarning, match="resuming"):
        varda.to_zarr(lazy_fill(ws.input, ws.model), url, region_size=16)
    assert xr.open_zarr(url).attrs["varda_status"] == "complete"
    same_store(url, varda.to_zarr(lazy_fill(ws.input, ws.model), ws.root / "r.zarr",
                                  region_size=16))
    with pytest.raises(OutputError, match="already exists"):
        varda.to_zarr(lazy_fill(ws.input, ws.model), url, region_size=16)
    ws.check()


def test_netcdf_appears_only_when_complete(ws):
    import dask.array as da

    def boom(block):
        raise RuntimeError("worker lost")

    bad = xr.DataArray(da.map_blocks(boom, da.zeros((32, 8), chunks=8, dtype=np.float32),
                                     dtype=np.float32),
                       dims=("time", "site"), name="u")
    with pytest.raises(RuntimeError, match="worker lost"):
        varda.to_netcdf(bad, ws.earlier_nc, overwrite=True)
    with pytest.raises(RuntimeError, match="worker lost"):
        varda.to_netcdf(bad, ws.root / "new.nc")
    assert not (ws.root / "new.nc").exists()
    assert not [p for p in os.listdir(ws.root) if p.endswith(".tmp")]
    ws.check()


# -- real processes: Ctrl-C, then kill -9, of `varda fill`, then the same command again ------
def _varda_fill(src, model, out):
    return ["fill", str(src), "--var", "u", "--model", model, "-o", str(out), "--chunks",
            "time=16", "--region-size", "16", "--n-iter", "12", "--no-progress"]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_and_stop(args, out, sig, at_least: int):
    """Run ``varda fill`` until ``at_least`` regions are recorded, then send ``sig``."""
    exe = Path(sys.executable).parent / "varda"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # as from a terminal: SIGINT at its default disposition. A test run started as a
    # background job of a non-interactive shell (`make test &`) ignores SIGINT, as POSIX
    # shells do for such jobs, and a child inherits an ignored signal
    proc = subprocess.Popen([str(exe), *args], env=env, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)
    marks = Path(f"{out}.partial") / ".varda" / "regions"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if marks.is_dir() and len(os.listdir(marks)) >= at_least:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the fill finished before it could be interrupted"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_cli_ctrl_c_then_kill_9_then_rerun_is_bit_for_bit(ws):
    from conftest import archive
    from varda.cli.main import main
    src = ws.write_input(archive(t=256, seed=8), "long.nc")
    out = ws.root / "out.zarr"
    code, err = _start_and_stop(_varda_fill(src, ws.model, out), out, signal.SIGINT, 1)
    assert code == 130 and "rerun the same command to finish" in err, (code, err)
    first = zarr_status(out)
    assert first["status"] == "partial" and 1 <= first["regions_done"] < 16
    code, _ = _start_and_stop(_varda_fill(src, ws.model, out), out, signal.SIGKILL,
                              first["regions_done"] + 1)
    assert code == -signal.SIGKILL
    second = zarr_status(out)
    assert first["regions_done"] < second["regions_done"] < 16     # the rerun resumed
    exe = Path(sys.executable).parent / "varda"
    done = subprocess.run([str(exe), *_varda_fill(src, ws.model, out)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    assert f"{second['regions_done']} of 16 regions were already written" in done.stderr
    ref = ws.root / "ref.zarr"
    assert main(_varda_fill(src, ws.model, ref)) == 0              # uninterrupted, in-process
    same_store(out, ref)
    assert zarr_status(out)["status"] == "complete"
    ws.check()


def test_an_interrupted_fill_with_its_error_field_resumes_bit_for_bit(tmp_path, monkeypatch):
    """``fill(..., error=True)`` written region by region: the error field resumes like the
    fill (the same values as an uninterrupted run)."""
    from varda.datasets.osse import make_sst_osse

    src = tmp_path / "sst.nc"
    make_sst_osse("small", seed=5).obs.isel(time=slice(0, 40)).to_dataset(
        name="sst").to_netcdf(src)

    def run():     # the background gathers time: regions are cut along lat
        ds = xr.open_dataset(src, chunks={"lat": 12})
        return varda.fill(ds.sst, "sst-osse", error=True)

    opts = {"region_dim": "lat", "region_size": 12}
    ref = varda.to_zarr(run(), tmp_path / "ref.zarr", **opts)
    out = tmp_path / "out.zarr"
    cut = Interrupt(monkeypatch, after=2)
    with pytest.raises(KeyboardInterrupt):
        varda.to_zarr(run(), out, **opts)
    cut.undo()
    assert zarr_status(out)["regions_done"] == 2
    with pytest.warns(varda.errors.VardaWarning, match="already written"):
        varda.to_zarr(run(), out, **opts)
    same_store(out, ref)
    with xr.open_zarr(out) as done:
        assert "sst_error" in done and done["sst"].attrs["ancillary_variables"].startswith(
            "sst_error")
