"""Data sets: generators and loaders for the benchmarks (Lorenz-96, MNIST, SST)."""
