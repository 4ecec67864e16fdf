"""Suite-wide settings: one torch thread per process; deterministic property tests.

The tests use tiny tensors, for which intra-op threads only add synchronisation cost; on a
loaded 2-core machine (or under dask's thread pool) oversubscription made them up to ~30x
slower. Benchmarks and recipes choose their own thread counts.

Hypothesis draws the same examples on every run (``derandomize=True``): CI checks the same
cases each time, and a failure reproduces. To explore new examples locally, run with
``HYPOTHESIS_PROFILE=explore`` (``mutation``: the same examples, failures not shrunk).
"""
import os

import torch
from hypothesis import Phase, settings

torch.set_num_threads(1)

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
# benchmarks/mutation_check.py: a failure only has to be seen, not shrunk to a minimal example
settings.register_profile("mutation", derandomize=True,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
