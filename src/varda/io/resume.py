"""Resumable Zarr output: what a store was written from, which regions are finished, is it complete.

A Zarr store written by :func:`varda.to_zarr` holds, besides the data:

* the attribute ``varda_status``: ``"partial"`` while regions are missing, ``"complete"`` once
  every region is written (set last);
* ``.varda/fingerprint.json``: what the store is being written from (model sha256, fill options,
  input files with size and modification time, the data's dask token, the region layout);
* ``.varda/regions/<i>``: one small object per finished region, written after the region's data.

A rerun of the same fill finds the markers and skips finished regions; a rerun with another
model, input, options or layout is refused with a message naming what differs. The markers are
separate objects (no read-modify-write of shared metadata), so they work the same on local
disks and object storage (fsspec).
"""
from __future__ import annotations

import json
import os
from typing import Any, Iterable

import xarray as xr

PROGRESS_DIR = ".varda"
FINGERPRINT = f"{PROGRESS_DIR}/fingerprint.json"
REGIONS = f"{PROGRESS_DIR}/regions"
STATUS_ATTR = "varda_status"
FINGERPRINT_VERSION = 2   # 2: regions are blocks {dim: [start, stop]} of several dims


def _file_info(path: str) -> dict:
    try:
        st = os.stat(path)
    except OSError:
        return {"path": str(path)}
    return {"path": os.path.abspath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def fingerprint(ds: xr.Dataset, *, sources: Iterable[str], dim: str,
                regions: list[dict[str, list[int]]]) -> dict:
    """What a store is written from: a JSON-able dict compared on resume, part by part."""
    from dask.base import tokenize

    model, options, data = {}, {}, {}
    for name, var in ds.data_vars.items():
        model[str(name)] = {"sha256": var.attrs.get("varda_model_sha256", ""),
                            "path": var.attrs.get("varda_model_path", "")}
        options[str(name)] = var.attrs.get("varda_solver", "")
        data[str(name)] = tokenize(var.data)
    chunks = {str(n): [list(map(int, c)) for c in v.chunks] if v.chunks else None
              for n, v in ds.data_vars.items()}
    return {
        "version": FINGERPRINT_VERSION,
        "model": model,
        "options": options,
        "inputs": [_file_info(str(s)) for s in sources],
        "layout": {"dim": dim, "regions": regions,
                   "sizes": {str(k): int(v) for k, v in ds.sizes.items()},
                   "variables": sorted(map(str, ds.variables)), "chunks": chunks},
        "data": data,
    }


_PART_NAMES = {"model": "the model", "options": "the fill options", "inputs": "the input files",
               "layout": "the output layout (sizes, chunks or regions)",
               "data": "the input data or the fill's graph (chunks, mask, dims)"}


def differences(old: dict, new: dict) -> list[str]:
    """Readable differences between two fingerprints (empty when they match)."""
    out = []
    if old.get("version") != new.get("version"):
        return [f"the progress format (version {old.get('version')} vs {new.get('version')})"]
    for key, what in _PART_NAMES.items():
        a: Any = old.get(key) or {}
        b: Any = new.get(key) or {}
        if a == b:
            continue
        if key == "model":
            pairs = [f"{v}: sha256 {str(a.get(v, {}).get('sha256'))[:12]}… before, "
                     f"{str(b.get(v, {}).get('sha256'))[:12]}… now" for v in sorted(set(a) | set(b))
                     if a.get(v) != b.get(v)]
            out.append(f"{what} ({'; '.join(pairs)})")
        elif key == "options":
            diffs = []
            for v in sorted(set(a) | set(b)):
                try:
                    oa, ob = json.loads(a.get(v) or "{}"), json.loads(b.get(v) or "{}")
                except ValueError:
                    oa, ob = {}, {}
                diffs += [f"{v}.{k}: {oa.get(k)!r} before, {ob.get(k)!r} now"
                          for k in sorted(set(oa) | set(ob)) if oa.get(k) != ob.get(k)]
            out.append(f"{what} ({'; '.join(diffs) or 'changed'})")
        elif key == "inputs":
            pa = {i["path"]: i for i in a}
            pb = {i["path"]: i for i in b}
            parts = [f"{p} is no longer an input" for p in pa if p not in pb]
            parts += [f"{p} is a new input" for p in pb if p not in pa]
            parts += [f"{p} changed (size or modification time)" for p in pa
                      if p in pb and pa[p] != pb[p]]
            out.append(f"{what} ({'; '.join(parts) or 'changed'})")
        elif key == "data" and out:
            continue  # implied by what differs already
        else:
            out.append(what)
    return out


# -- reading and writing the progress objects (fsspec: local paths and URLs alike) ---------
def _fs(store: str, storage_options: "dict | None" = None):
    import fsspec
    return fsspec.core.url_to_fs(str(store), **(storage_options or {}))


def write_fingerprint(store: str, fp: dict, storage_options: "dict | None" = None) -> None:
    fs, root = _fs(store, storage_options)
    fs.makedirs(f"{root}/{REGIONS}", exist_ok=True)
    fs.pipe_file(f"{root}/{FINGERPRINT}", json.dumps(fp, sort_keys=True).encode())


def read_fingerprint(store: str, storage_options: "dict | None" = None) -> "dict | None":
    fs, root = _fs(store, storage_options)
    try:
        return json.loads(fs.cat_file(f"{root}/{FINGERPRINT}"))
    except (FileNotFoundError, ValueError):
        return None


def mark_done(store: str, index: int, storage_options: "dict | None" = None) -> None:
    """Record that region ``index`` is written (after its data)."""
    fs, root = _fs(store, storage_options)
    fs.pipe_file(f"{root}/{REGIONS}/{index:06d}", b"done")


def regions_done(store: str, storage_options: "dict | None" = None) -> set[int]:
    """Indices of the regions recorded as written."""
    fs, root = _fs(store, storage_options)
    try:
        names = fs.ls(f"{root}/{REGIONS}", detail=False)
    except FileNotFoundError:
        return set()
    out = set()
    for n in names:
        base = str(n).rstrip("/").rsplit("/", 1)[-1]
        if base.isdigit():
            out.add(int(base))
    return out


def set_status(store: str, status: str, storage_options: "dict | None" = None) -> None:
    """Set the store's ``varda_status`` attribute and re-consolidate its metadata."""
    import zarr

    kw: dict[str, Any] = {"storage_options": storage_options} if storage_options else {}
    import warnings

    group = zarr.open_group(str(store), mode="r+", zarr_format=2, **kw)
    group.attrs[STATUS_ATTR] = status
    with warnings.catch_warnings():  # zarr notes that .varda/ is not an array: it is ours
        warnings.filterwarnings("ignore", message=".*not recognized as a component")
        zarr.consolidate_metadata(str(store), zarr_format=2, **kw)


def partial_path(target: "str | os.PathLike") -> str:
    """Where a local store is written until it is complete: ``<target>.partial``."""
    return f"{os.fspath(target).rstrip('/')}.partial"


def zarr_status(store: "str | os.PathLike", *, storage_options: "dict | None" = None) -> dict:
    """Is a Zarr output complete? For a local path, a ``<store>.partial`` left by an
    interrupted fill is reported too.

    Returns:
        ``{"status": "complete" | "partial" | "missing" | "unknown", "path": ...,
        "regions_done": int, "regions_total": int}``; ``"unknown"`` for a store not written by
        varda (no ``varda_status`` attribute).
    """
    candidates = [str(store)]
    if "://" not in str(store):
        candidates.append(partial_path(store))
    for path in candidates:
        fs, root = _fs(path, storage_options)
        if not fs.exists(root):
            continue
        attrs: dict = {}
        for meta in (".zmetadata", ".zattrs"):
            try:
                doc = json.loads(fs.cat_file(f"{root}/{meta}"))
            except (FileNotFoundError, ValueError):
                continue
            attrs = doc.get("metadata", {}).get(".zattrs", doc) if meta == ".zmetadata" else doc
            break
        fp = read_fingerprint(path, storage_options)
        total = len(fp["layout"]["regions"]) if fp else 0
        status = attrs.get(STATUS_ATTR, "unknown")
        if path != str(store) and status == "complete":
            status = "partial"  # finished but not yet renamed into place
        return {"status": status, "path": path, "regions_done": len(regions_done(path,
                                                                                  storage_options)),
                "regions_total": total}
    return {"status": "missing", "path": str(store), "regions_done": 0, "regions_total": 0}
