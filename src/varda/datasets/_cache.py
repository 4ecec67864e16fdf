"""On-disk cache of generated arrays (trajectories, OSSE truths): keyed by their settings,
written atomically, regenerated when missing or unreadable."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np


def cache_dir() -> Path:
    """The user cache directory for generated data (``$VARDA_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/varda`` or ``~/.cache/varda``)."""
    env = os.environ.get("VARDA_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "varda"


def cached_array(folder: str, prefix: str, key: dict, shape: tuple[int, ...],
                 build: Callable[[], np.ndarray], *, cache: bool = True) -> np.ndarray:
    """``build()`` as float32, read from / written to ``cache_dir()/folder`` under a name
    derived from ``key`` (a file of another shape or dtype, or an unreadable one, is rebuilt)."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / folder / f"{prefix}-{digest}.npy"
    if cache and path.is_file():
        try:
            arr = np.load(path, allow_pickle=False)
            if arr.shape == shape and arr.dtype == np.float32:
                return arr
        except (OSError, ValueError):
            pass  # unreadable cache file: regenerate and overwrite it below
    arr = build().astype(np.float32)
    if cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, arr, allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home: the cache is an optimisation only
    return arr
