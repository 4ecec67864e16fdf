"""dask.distributed settings that keep torch fast inside worker processes.

distributed's Nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``. Setting that variable
turns off glibc's adaptive mmap threshold, so every large temporary tensor is mmap-ed and
unmapped again; measured here, a worker filled 3-4× slower than the same code in the client
process. Also setting ``MALLOC_MMAP_THRESHOLD_`` restores the speed. The variables must be in
place before the worker process starts, hence dask's ``pre-spawn-environ`` config.
"""
from __future__ import annotations

#: bytes; large enough that torch's temporaries stay on the heap
MALLOC_THRESHOLD = 1 << 30


def worker_malloc_config() -> dict[str, str]:
    """dask config for ``dask.config.set(...)`` around ``LocalCluster(...)`` creation.

    Example::

        with dask.config.set(worker_malloc_config()):
            cluster = LocalCluster(n_workers=2, threads_per_worker=1)

    On remote clusters (dask-gateway, Kubernetes), set the same environment variables in the
    worker's environment instead: ``MALLOC_TRIM_THRESHOLD_`` and ``MALLOC_MMAP_THRESHOLD_``.
    """
    key = "distributed.nanny.pre-spawn-environ."
    return {key + "MALLOC_TRIM_THRESHOLD_": str(MALLOC_THRESHOLD),
            key + "MALLOC_MMAP_THRESHOLD_": str(MALLOC_THRESHOLD)}
