"""Training at the tensor and array level, behind :func:`varda.train` (whose DataArray adapter
is :mod:`varda.xr.train`): automatic configuration from the data (:mod:`.autoconfig`),
cloud-shaped self-supervised holdouts (:mod:`.holdouts`), time-block splits (:mod:`.splits`)
and the patches cut in them (:mod:`.patches`), one candidate's training (:mod:`.candidate`),
EOF initialisation of a linear prior (:mod:`.eof_init`), and the choice of K and of the
candidate (:mod:`.choice`). No xarray here: it sits at the level of :mod:`varda.array`."""
