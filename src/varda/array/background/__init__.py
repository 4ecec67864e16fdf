"""The background a model fills anomalies from, and the optimal interpolation that makes it:
:mod:`.field` (the background of a field, NumPy or dask, and the choice of its scales),
:mod:`.running_mean` (running climatology), :mod:`.oi_lattice` and :mod:`.oi_stencil`
(compiled OI on the grid), :mod:`.oi_kernel` (OI at scattered points, for the baselines)."""
