"""A 1.5-layer (equivalent-barotropic) quasi-geostrophic model in torch: pseudo-spectral,
doubly periodic, RK4, differentiable and batched over any leading dimensions.

Equations (SI units)::

    q = ∇²ψ − ψ / Ld²,        ψ = g η / f0          (η: sea-surface height, m)
    ∂q/∂t + J(ψ, q) + β ∂ψ/∂x = −r q + F − (small-scale filter)

* β gives Rossby waves and eddies a westward drift (phase speed −β / (k² + Ld⁻²));
* ``r`` is a linear damping (``damping_days`` = 1/r in days);
* ``F`` is an optional forcing (the OSSE generator supplies a red-in-time stochastic one);
* the Jacobian is de-aliased by the 2/3 rule and an exponential spectral filter (as in pyqg)
  removes enstrophy at the grid scale; the domain mean of η (the k = 0 mode) is left unchanged.

Without forcing, damping and filter, the discrete model conserves the energy
½ Σ (∇ψ · ∇ψ + ψ²/Ld²) and the potential enstrophy ½ Σ q² (up to the RK4 error).

Written by hand rather than with pyqg: pyqg is numpy-only (not differentiable) and not a
dependency; the variational prior needs gradients through the flow.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from varda.errors import ConfigError, InputError

#: gravity (m s⁻²)
G = 9.81
#: RK4's stability limit on |ω·dt| for oscillations (imaginary-axis bound 2√2 ≈ 2.83)
_CFL_MAX = 2.8


class QGModel(nn.Module):
    """The 1.5-layer QG tendency and its RK4 integrator on an ``ny × nx`` periodic grid.

    Args:
        shape: ``(ny, nx)`` grid points.
        dx: grid step in metres (same in both directions).
        rossby_radius: deformation radius Ld in metres (must exceed ``dx``).
        beta: meridional gradient of the Coriolis parameter (m⁻¹ s⁻¹); 0 for an f-plane.
        f0: Coriolis parameter (s⁻¹), to convert SSH to streamfunction.
        damping_days: 1/r, the linear damping time in days (``None``: no damping).
        filter_order: exponent of the spectral filter's decay (``None``: no filter).
        dt: time step in seconds (checked against the CFL limit by :meth:`check_cfl`).
    """

    kx: torch.Tensor
    ky: torch.Tensor
    inv: torch.Tensor
    dealias: torch.Tensor
    keep0: torch.Tensor
    filt: torch.Tensor

    def __init__(self, *, shape: tuple[int, int] = (64, 64), dx: float = 10e3,
                 rossby_radius: float = 60e3, beta: float = 1.85e-11, f0: float = 8.6e-5,
                 damping_days: "float | None" = 60.0, filter_order: "float | None" = 4.0,
                 dt: float = 3600.0) -> None:
        super().__init__()
        ny, nx = (int(s) for s in shape)
        if ny < 4 or nx < 4 or ny % 2 or nx % 2:
            raise ConfigError(f"QG grid shape must be even and >= 4 per axis, got {shape}")
        if not dx > 0 or not dt > 0:
            raise ConfigError(f"QG dx and dt must be > 0 (metres, seconds), got dx={dx}, dt={dt}")
        if not rossby_radius > dx:
            raise ConfigError(
                f"rossby_radius={rossby_radius:g} m is not larger than the grid step dx={dx:g} m: "
                "the grid cannot resolve the deformation scale; give the radius in metres "
                "(e.g. 30e3) or use a finer grid")
        if f0 == 0:
            raise ConfigError("f0 must be non-zero (the Coriolis parameter, s⁻¹; ~1e-4 at mid-latitudes)")
        self.shape, self.dx, self.dt = (ny, nx), float(dx), float(dt)
        self.rossby_radius, self.beta, self.f0 = float(rossby_radius), float(beta), float(f0)
        self.damping_days = None if damping_days is None else float(damping_days)
        self.filter_order = None if filter_order is None else float(filter_order)
        self.config = {"shape": [ny, nx], "dx": dx, "rossby_radius": rossby_radius,
                       "beta": beta, "f0": f0, "damping_days": damping_days,
                       "filter_order": filter_order, "dt": dt}
        kx = 2 * math.pi * torch.fft.rfftfreq(nx, d=dx, dtype=torch.float64)
        ky = 2 * math.pi * torch.fft.fftfreq(ny, d=dx, dtype=torch.float64)
        kyy, kxx = torch.meshgrid(ky, kx, indexing="ij")
        k2 = kxx ** 2 + kyy ** 2
        inv = -1.0 / (k2 + 1.0 / self.rossby_radius ** 2)       # ψ̂ = inv · q̂
        kmax = math.pi / dx
        dealias = ((kxx.abs() < 2 / 3 * kmax) & (kyy.abs() < 2 / 3 * kmax)).to(torch.float64)
        keep0 = torch.ones_like(k2)
        keep0[0, 0] = 0.0
        self.register_buffer("kx", kxx, persistent=False)
        self.register_buffer("ky", kyy, persistent=False)
        self.register_buffer("inv", inv, persistent=False)
        self.register_buffer("dealias", dealias, persistent=False)
        self.register_buffer("keep0", keep0, persistent=False)
        self.register_buffer("filt", self._filter(kxx, kyy, kmax), persistent=False)

    def _filter(self, kx: torch.Tensor, ky: torch.Tensor, kmax: float) -> torch.Tensor:
        # pyqg's exponential filter: 1 below 0.65 k_max, decays to e^-23.6 at k_max (per step)
        if self.filter_order is None:
            return torch.ones_like(kx)
        kappa = torch.sqrt((kx * self.dx) ** 2 + (ky * self.dx) ** 2)
        cut = 0.65 * math.pi
        a = -math.log(1e-15) / (0.35 * math.pi) ** self.filter_order
        return torch.where(kappa > cut, torch.exp(-a * (kappa - cut).clamp_min(0) ** self.filter_order),
                           torch.ones_like(kappa))

    # -- conversions ---------------------------------------------------------------------
    def ssh_to_qh(self, eta: torch.Tensor) -> torch.Tensor:
        """Spectral PV q̂ from SSH ``(..., ny, nx)`` in metres."""
        psi_h = torch.fft.rfft2(eta * (G / self.f0))
        return psi_h / self.inv.to(eta.dtype)

    def qh_to_ssh(self, qh: torch.Tensor) -> torch.Tensor:
        """SSH in metres from spectral PV."""
        real = torch.float64 if qh.dtype == torch.complex128 else torch.float32
        return torch.fft.irfft2(qh * self.inv.to(real), s=self.shape) * (self.f0 / G)

    def velocity(self, eta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Geostrophic velocities (u, v) in m/s from SSH in metres."""
        psi_h = torch.fft.rfft2(eta * (G / self.f0))
        kx, ky = self.kx.to(eta.dtype), self.ky.to(eta.dtype)
        u = torch.fft.irfft2(-1j * ky * psi_h, s=self.shape)
        v = torch.fft.irfft2(1j * kx * psi_h, s=self.shape)
        return u, v

    # -- dynamics ------------------------------------------------------------------------
    def tendency(self, qh: torch.Tensor, forcing_h: "torch.Tensor | None" = None) -> torch.Tensor:
        """∂q̂/∂t (spectral, same shape as ``qh``); ``forcing_h`` an optional spectral forcing."""
        real = torch.float64 if qh.dtype == torch.complex128 else torch.float32
        kx, ky = self.kx.to(real), self.ky.to(real)
        psi_h = qh * self.inv.to(real)
        s = self.shape
        u = torch.fft.irfft2(-1j * ky * psi_h, s=s)
        v = torch.fft.irfft2(1j * kx * psi_h, s=s)
        qx = torch.fft.irfft2(1j * kx * qh, s=s)
        qy = torch.fft.irfft2(1j * ky * qh, s=s)
        adv = torch.fft.rfft2(u * qx + v * qy) * self.dealias.to(real)
        tend = -adv - 1j * self.beta * kx * psi_h
        if self.damping_days is not None:
            tend = tend - qh / (self.damping_days * 86400.0)
        if forcing_h is not None:
            tend = tend + forcing_h
        return tend * self.keep0.to(real)

    def step(self, qh: torch.Tensor, forcing_h: "torch.Tensor | None" = None) -> torch.Tensor:
        """One RK4 step of ``dt`` seconds on spectral PV, then the spectral filter."""
        h = self.dt
        k1 = self.tendency(qh, forcing_h)
        k2 = self.tendency(qh + 0.5 * h * k1, forcing_h)
        k3 = self.tendency(qh + 0.5 * h * k2, forcing_h)
        k4 = self.tendency(qh + h * k3, forcing_h)
        out = qh + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if self.filter_order is not None:
            real = torch.float64 if qh.dtype == torch.complex128 else torch.float32
            out = out * self.filt.to(real)
        return out

    def safe_dt(self, eta: torch.Tensor) -> float:
        """The largest RK4-stable time step (s) for the SSH ``eta`` (advective CFL:
        the fastest frequency of the de-aliased advection is ``(2/3)(π/dx)(max|u| + max|v|)``):
        ``2.8 dx / ((2/3) π (max|u| + max|v|))`` (infinite for a flow at rest)."""
        u, v = self.velocity(eta.detach())
        speed = float(u.abs().max() + v.abs().max())
        if speed == 0.0:
            return math.inf
        return _CFL_MAX * self.dx / (2.0 / 3.0 * math.pi * speed)

    def check_cfl(self, eta: torch.Tensor, *, dt: "float | None" = None) -> None:
        """Raise :class:`varda.errors.InputError` if ``dt`` (default the model's) would make
        RK4 unstable for the flow of ``eta`` (SSH in metres), naming the safe step."""
        step = self.dt if dt is None else float(dt)
        safe = self.safe_dt(eta)
        if step > safe:
            raise InputError(
                f"the QG time step {step:g} s is unstable for this flow (max velocity implies a "
                f"CFL-safe step of {safe:.0f} s): use dt <= {safe:.0f} s, i.e. more RK4 "
                f"sub-steps per day (n_substeps >= {math.ceil(86400.0 / safe)}), or check that "
                "the SSH is in metres")

    def integrate(self, eta: torch.Tensor, duration: float) -> torch.Tensor:
        """SSH after ``duration`` seconds of free (unforced) flow, in ``round(duration/dt)``
        steps of ``dt`` (so ``duration`` should be a multiple of ``dt``)."""
        n = max(1, int(round(duration / self.dt)))
        qh = self.ssh_to_qh(eta)
        for _ in range(n):
            qh = self.step(qh)
        return self.qh_to_ssh(qh)

    def energy(self, eta: torch.Tensor) -> torch.Tensor:
        """Σ (∇ψ · ∇ψ + ψ²/Ld²)/2 per field (the conserved energy of the inviscid model)."""
        qh = self.ssh_to_qh(eta)
        real = torch.float64 if qh.dtype == torch.complex128 else torch.float32
        w = torch.ones(qh.shape[-1], dtype=real, device=qh.device)
        w[1:] = 2.0                                      # rfft half-plane weights
        if self.shape[1] % 2 == 0:
            w[-1] = 1.0
        return 0.5 * (-(qh.conj() * qh * self.inv.to(real)).real * w).sum((-2, -1))

    def enstrophy(self, eta: torch.Tensor) -> torch.Tensor:
        """Σ q²/2 per field (conserved by the inviscid model)."""
        q = torch.fft.irfft2(self.ssh_to_qh(eta), s=self.shape)
        return 0.5 * (q ** 2).sum((-2, -1))
