"""Lorenz-96 reproduction of Table 2 of Fablet, Drumetz, Rousseau, "End-to-end learning of
variational models and solvers for the resolution of interpolation problems", ICASSP 2021.

``settings`` holds every hyper-parameter, ``data`` the benchmark tensors and scores, ``models``
the model factories, ``training`` the training and tuning stages, ``runner`` the rows,
``report`` the outputs; ``run`` is the command line (``python -m experiments.l96.run``).
"""
