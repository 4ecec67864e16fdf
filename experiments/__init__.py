"""Benchmark reproductions, one folder each; run from the repository root, e.g. ``python -m experiments.l96.run --quick``."""
