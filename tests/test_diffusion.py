"""Diffusion under a flux boundary (DESIGN.md B6), D(c) by manufactured solution, inventory
conservation, and graphite equilibrium with its open-circuit potential."""

import math

from mpi4py import MPI

import numpy as np
import pytest
import ufl
from dolfinx import fem
from ssbx.fem import graphite
from ssbx.fem.boundary import integrate
from ssbx.fem.diffusion import Diffusion, Flux
from ssbx.fem.kinetics import ButlerVolmer
from ssbx.fem.materials import FARADAY
from ssbx.geometries.strip import build_strip

UM = 1e-6


def _profile(diff: Diffusion, exact):
    """Relative L2 error of the solution against a UFL expression of the coordinates."""
    err = integrate(diff.tm, (diff.c - exact) ** 2)
    ref = integrate(diff.tm, exact**2)
    return math.sqrt(err / ref)


def _march(diff: Diffusion, t_end: float, steps: int):
    dt = t_end / steps
    supplied = 0.0
    for _ in range(steps):
        inv_old = diff.inventory()
        diff.step(dt)
        supplied += diff.boundary_supply(dt)
        assert diff.inventory() - inv_old == pytest.approx(diff.boundary_supply(dt), rel=1e-10, abs=1e-13 * inv_old)
        diff.accept()
    return supplied


@pytest.mark.parametrize("comm", [MPI.COMM_WORLD])
def test_semi_infinite_flux_closed_form(comm):
    """B6: c(x, t) = c_i + (2N/D) [sqrt(Dt/pi) exp(-x^2/4Dt) - x/2 erfc(x / 2 sqrt(Dt))], and at
    the surface c_i + 2N sqrt(t / (pi D)), for a constant molar flux N = j/F into x = 0."""
    D, j, ci, t_end = 1e-12, 10.0, 1000.0, 10.0
    N = j / FARADAY
    length = 40 * math.sqrt(D * t_end)  # erfc(20) ~ 0: semi-infinite
    tm = build_strip(comm, 0.5 * UM, length, 1, 800)
    diff = Diffusion(tm, D, initial=ci, fluxes=[Flux(("strip_bottom",), N)], theta=0.5, scale=ci,
                     prefix="semi_")
    supplied = _march(diff, t_end, 400)
    y = ufl.SpatialCoordinate(tm.mesh)[1]
    s = math.sqrt(D * t_end)
    exact = ci + (2 * N / D) * (s / math.sqrt(math.pi) * ufl.exp(-(y**2) / (4 * s**2))
                                - y / 2 * (1 - ufl.erf(y / (2 * s))))
    assert _profile(diff, exact) < 2e-5
    surface = integrate(tm, diff.c, facets=["strip_bottom"]) / (0.5 * UM)
    rise = 2 * N * math.sqrt(t_end / (math.pi * D))
    assert surface - ci == pytest.approx(rise, rel=3e-3)
    assert supplied == pytest.approx(N * 0.5 * UM * t_end, rel=1e-12)  # plane: per unit depth


@pytest.mark.parametrize("comm", [MPI.COMM_WORLD])
def test_finite_slab_flux_closed_form(comm):
    """B6 finite slab, flux N at x = 0, sealed at x = L, xi = x/L:
    c = c0 + (N L / D)[Dt/L^2 + (3 xi^2 - 6 xi + 2)/6 - (2/pi^2) sum cos(k pi xi)/k^2 exp(-k^2 pi^2 Dt/L^2)]."""
    D, L, c0, N = 1e-13, 10 * UM, 500.0, 2e-5
    tm = build_strip(comm, 0.5 * UM, L, 1, 200)
    diff = Diffusion(tm, D, initial=c0, fluxes=[Flux(("strip_bottom",), N)], theta=0.5, scale=c0, prefix="slab_")
    xi = ufl.SpatialCoordinate(tm.mesh)[1] / L
    t = 0.0
    for tau in (0.05, 0.3):
        t_next = tau * L**2 / D
        _march(diff, t_next - t, 300)
        t = t_next
        series = sum(ufl.cos(k * math.pi * xi) / k**2 * math.exp(-(k**2) * math.pi**2 * tau) for k in range(1, 60))
        exact = c0 + N * L / D * (tau + (3 * xi**2 - 6 * xi + 2) / 6 - 2 / math.pi**2 * series)
        assert _profile(diff, exact) < 5e-6
    assert diff.inventory() == pytest.approx((c0 * L + N * t) * 0.5 * UM, rel=1e-11)  # Li inventory


@pytest.mark.serial
@pytest.mark.parametrize("degree, rate", [(1, 2.0), (2, 3.0)])
def test_graphite_diffusivity_manufactured_solution_rate(degree, rate):
    """B9: steady -div(D(x) grad c) = f with Ecker's D(x = c/c_max) and a chosen smooth
    c(x, y); f derived in UFL; Dirichlet data from the exact field. L2 rate p + 1."""
    L = 10 * UM
    errors = []
    for n in (8, 16, 32):
        tm = build_strip(MPI.COMM_SELF, L, L, n, n)
        X = ufl.SpatialCoordinate(tm.mesh)
        c_exact = graphite.C_MAX * (0.5 + 0.3 * ufl.sin(math.pi * X[0] / L) * ufl.cos(math.pi * X[1] / L))
        D = lambda c: graphite.diffusivity(c / graphite.C_MAX, ufl)  # noqa: E731
        f = -ufl.div(D(c_exact) * ufl.grad(c_exact))

        def exact_np(x):
            return graphite.C_MAX * (0.5 + 0.3 * np.sin(np.pi * x[0] / L) * np.cos(np.pi * x[1] / L))

        sides = ("strip_bottom", "strip_top", "strip_left", "strip_right")
        diff = Diffusion(tm, D, initial=0.5 * graphite.C_MAX, fixed=[(sides, exact_np)], source=f, degree=degree,
                         scale=graphite.C_MAX, prefix=f"mms_{degree}_{n}_")
        diff.solve_steady()
        errors.append(_profile(diff, c_exact))
    rates = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert rates[-1] > rate - 0.15, (errors, rates)


@pytest.mark.parametrize("comm", [MPI.COMM_WORLD])
def test_graphite_relaxes_to_the_open_circuit_potential(comm):
    """Nernst/OCP equilibrium: a graphite layer held at phi_s - phi_e = U(x1) through a
    Butler-Volmer surface ends uniformly at x1 with zero current; held at U(x0) of its own
    state it does not move at all. Li inventory changes exactly by the integrated current."""
    L, x0, x1 = 2 * UM, 0.3, 0.5
    bv = ButlerVolmer(exchange_current=1.0)
    tm = build_strip(comm, 0.5 * UM, L, 1, 40)
    dphi = fem.Constant(tm.mesh, float(graphite.open_circuit_potential(x0)))
    cmax = graphite.C_MAX

    def flux_in(c):  # anodic (positive) current takes Li out of the graphite
        return -bv.current(dphi - graphite.open_circuit_potential(c / cmax, ufl), ufl) / FARADAY

    diff = Diffusion(tm, lambda c: graphite.diffusivity(c / cmax, ufl), initial=x0 * cmax, scale=cmax,
                     fluxes=[Flux(("strip_bottom",), flux_in)], prefix="ocp_")
    _march(diff, 10.0, 5)
    assert np.allclose(diff.c.x.array / cmax, x0, atol=1e-12)  # at equilibrium: nothing moves
    dphi.value = float(graphite.open_circuit_potential(x1))
    t, dt = 0.0, 1.0
    while t < 2e4:
        diff.step(dt)
        diff.accept()
        t += dt
        dt = min(dt * 1.5, 2000.0)
    x = diff.c.x.array / cmax
    assert np.allclose(x, x1, atol=2e-4)
    width = 0.5 * UM
    assert diff.inventory() == pytest.approx(x1 * cmax * L * width, rel=5e-4)
