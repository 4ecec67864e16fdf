"""Pieces of :func:`varda.train` (``varda.xr.train.train``): automatic configuration from the
data (:mod:`.autoconfig`), cloud-shaped self-supervised holdouts (:mod:`.holdouts`), and
time-block training/validation splits (:mod:`.splits`)."""
