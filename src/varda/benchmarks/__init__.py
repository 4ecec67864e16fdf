"""Reproducible benchmarks (training + scoring code shared by recipes/ and the CLI demo)."""
