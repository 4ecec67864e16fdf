"""Compute a dask graph with an optional progress bar (local scheduler or dask.distributed)."""
from __future__ import annotations

from typing import Any

import sys

import dask


def _client():
    try:
        from distributed import default_client
        return default_client()
    except (ImportError, ValueError):
        return None


def run(graph: Any, *, progress: bool = False) -> Any:
    """Compute ``graph`` (a dask collection or Delayed); show progress if asked."""
    client = _client()
    if client is not None:
        future = client.compute(graph)
        if progress:
            from distributed import progress as show
            show(future)
        return future.result()
    if progress:
        from dask.diagnostics import ProgressBar
        with ProgressBar(out=sys.stderr):  # stdout stays clean for scripts
            return dask.compute(graph)[0]
    return dask.compute(graph)[0]
