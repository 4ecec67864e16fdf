"""Suite-wide settings: one torch thread per process.

The tests use tiny tensors, for which intra-op threads only add synchronisation cost; on a
loaded 2-core machine (or under dask's thread pool) oversubscription made them up to ~30x
slower. Benchmarks and recipes choose their own thread counts.
"""
import torch

torch.set_num_threads(1)
