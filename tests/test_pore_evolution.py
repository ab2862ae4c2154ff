"""Cahn-Hilliard pore evolution (DESIGN.md M4 "Cahn-Hilliard optional", B8, B9): linear stability
against its closed form (decay outside and growth inside the spinodal), the equilibrium tanh
profile and surface energy, a manufactured solution with the asserted P1 rate, conservation of
the SE volume with a falling free energy, and the same numbers on 1 and 2 ranks."""

import math

from mpi4py import MPI

import numpy as np
import pytest
import ufl
from dolfinx import default_scalar_type, fem
from ssbx.fem.boundary import integrate
from ssbx.fem.pore_evolution import PoreEvolution, PoreEvolutionError, PoreEvolutionParameters
from ssbx.geometries.strip import build_strip

UM = 1e-6


def _rates(errors):
    return [math.log2(errors[i] / errors[i + 1]) for i in range(len(errors) - 1)]


def test_parameters_are_validated():
    with pytest.raises(PoreEvolutionError, match="mobility"):
        PoreEvolutionParameters(mobility=-1e-19)
    with pytest.raises(PoreEvolutionError, match="gradient_coefficient"):
        PoreEvolutionParameters(mobility=1e-19, gradient_coefficient=0.0)
    with pytest.raises(TypeError, match="mobility"):  # no default: a study states what it assumes
        PoreEvolutionParameters()
    p = PoreEvolutionParameters(mobility=1e-19)
    assert p.interface_width == pytest.approx(math.sqrt(2 * 1.25e-6 / 4.45e6))
    assert p.surface_energy == pytest.approx(math.sqrt(2 * 1.25e-6 * 4.45e6) / 6)
    # the spinodal: g'' = W (2 - 12 rho + 12 rho^2) < 0 for rho in (0.21, 0.79)
    k = 1e5  # long wave: kappa k^2 << W
    assert p.growth_rate(0.5, k) > 0 > p.growth_rate(0.9, k)
    assert p.growth_rate(0.5, 1e7) < 0  # short waves decay everywhere
    tm = build_strip(MPI.COMM_SELF, 2 * UM, 1 * UM, 2, 1)
    with pytest.raises(PoreEvolutionError, match="quadrature_degree"):
        PoreEvolution(tm, p, quadrature_degree=1)
    with pytest.raises(PoreEvolutionError, match="initial rho"):
        PoreEvolution(tm, p, initial="porous")


def _perturbation_growth(comm, rho0, n, L=8 * UM, amplitude=1e-3, dt=0.02, steps=25):
    """Amplitude of cos(2 pi x/L) after ``steps`` backward-Euler steps over its start, and what
    backward Euler gives for the exact rate lambda: (1 - lambda dt)^-steps."""
    p = PoreEvolutionParameters(mobility=3e-19)
    tm = build_strip(comm, L, 0.5 * UM, n, 1)
    k = 2 * math.pi / L
    ce = PoreEvolution(tm, p, lambda x: rho0 + amplitude * np.cos(k * x[0]), prefix=f"ch_lin{n}_")
    x = ufl.SpatialCoordinate(tm.mesh)
    mode = lambda: integrate(tm, (ce.solid_fraction("new") - rho0) * ufl.cos(k * x[0]))  # noqa: E731
    a0 = mode()
    for _ in range(steps):
        ce.step(dt)
        ce.accept()
    ratio = mode() / a0
    ce.close()
    return ratio, (1 - p.growth_rate(rho0, k) * dt) ** -steps


@pytest.mark.parametrize("comm", [MPI.COMM_WORLD])
def test_small_perturbations_grow_or_decay_at_the_linear_rate(comm):
    """About a uniform rho0, cos(k x) changes at lambda = -M k^2 [g''(rho0) + kappa k^2] (module
    docstring): it decays at rho0 = 0.9 (g'' = 0.92 W) and grows at rho0 = 0.5 (g'' = -W, a long
    wave inside the spinodal). k = 2 pi/8 um, M = 3e-19 m^5/(J s): lambda = -0.90 and +0.68 1/s.
    The amplitude after 25 steps of 0.02 s is compared with backward Euler's own amplification
    (1 - lambda dt)^-25, so only the spatial error remains; P1: rate 2. Measured (n = 16, 32, 64
    cells over the wave): 0.9: 1.6e-3, 4.0e-4, 1.0e-4; 0.5: 1.2e-3, 3.1e-4, 7.7e-5 (rates 2.0)."""
    for rho0 in (0.9, 0.5):
        errors = []
        for n in (16, 32, 64):
            ratio, expected = _perturbation_growth(comm, rho0, n)
            errors.append(abs(ratio / expected - 1))
        assert (ratio > 1) == (rho0 == 0.5)
        assert errors[-1] < 3e-4 and min(_rates(errors)) > 1.9, (rho0, errors, _rates(errors))


@pytest.mark.parametrize("comm", [MPI.COMM_WORLD])
def test_equilibrium_profile_and_surface_energy(comm):
    """B8 for the pore field: a flat solid|pore interface relaxes to rho = [1 + tanh(x/delta)]/2
    (solid on the right) with the energy sqrt(2 kappa W)/6. A profile 1.5x too wide relaxes on a
    12 um strip; conservation and the symmetric mesh keep its centre at L/2. Measured (h = delta/3,
    delta/6, delta/12): profile L2 error 8.9e-4, 2.1e-4, 5.3e-5 (rates 2.1, 2.0); gamma error 1.7e-3,
    3.5e-4, 8.0e-5 (rates 2.3, 2.1)."""
    p = PoreEvolutionParameters(mobility=1e-17)
    d, L, w = p.interface_width, 12 * UM, 0.5 * UM
    profile_err, gamma_err = [], []
    for n in (48, 96, 192):  # h = delta/3, delta/6, delta/12
        tm = build_strip(comm, L, w, n, 1)
        ce = PoreEvolution(tm, p, lambda x: 0.5 * (1 + np.tanh((x[0] - L / 2) / (1.5 * d))), prefix=f"ch_eq{n}_")
        for dt in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0):
            ce.step(dt)
            ce.accept()
        x = ufl.SpatialCoordinate(tm.mesh)
        exact = 0.5 * (1 + ufl.tanh((x[0] - L / 2) / d))
        rho = ce.solid_fraction()
        profile_err.append(math.sqrt(integrate(tm, (rho - exact) ** 2) / integrate(tm, exact**2)))
        gamma_err.append(abs(ce.free_energy() / w / p.surface_energy - 1))
        ce.close()
    assert profile_err[-1] < 1e-4 and min(_rates(profile_err)) > 1.8, (profile_err, _rates(profile_err))
    assert gamma_err[-1] < 2e-4 and min(_rates(gamma_err)) > 1.8, (gamma_err, _rates(gamma_err))


def _mms_errors(comm):
    """Relative L2 errors of rho and mu (manufactured solution, see the test)."""
    Lm = 4 * UM
    p = PoreEvolutionParameters(mobility=2e-19)
    errors = {"rho": [], "mu": []}
    for n in (8, 16, 32):
        tm = build_strip(comm, Lm, Lm, n, n)
        x = ufl.SpatialCoordinate(tm.mesh)
        t = fem.Constant(tm.mesh, default_scalar_type(0.0))
        X, Y = math.pi * x[0] / Lm, math.pi * x[1] / Lm
        # cos(pi x/L) cos(pi y/L) modes: zero normal derivative on the closed boundary

        def exact(time, X=X, Y=Y):
            return 0.5 + 0.3 * ufl.cos(X) * ufl.cos(Y) * (1 + time) + 0.1 * ufl.cos(2 * X)

        m = 0.6 + 0.4 * ufl.sin(X) ** 2  # mobility factor
        drive = 0.2 * p.barrier_height * ufl.cos(X) ** 2 * (1 + ufl.cos(Y))  # J/m^3, zero normal slope too
        rho_v = ufl.variable(exact(t))
        g_prime = ufl.diff(p.barrier_height * rho_v**2 * (1 - rho_v) ** 2, rho_v)
        mu_e = g_prime - p.gradient_coefficient * ufl.div(ufl.grad(exact(t))) + drive
        dt = 0.05
        # the backward-Euler difference of the exact field (linear in t): the scheme is exact in time
        rate = (exact(t) - exact(t - dt)) / dt
        source = rate - ufl.div(p.mobility * m * ufl.grad(mu_e))
        ce = PoreEvolution(tm, p, exact(t), mobility_factor=m, driving_force=drive, source=source,
                           prefix=f"ch_mms{n}_")
        for _ in range(2):
            t.value += dt
            ce.step(dt)
            ce.accept()
        rho, mu = ufl.split(ce.w)
        for key, num, ex in (("rho", rho, exact(t)), ("mu", mu * p.barrier_height, mu_e)):
            errors[key].append(math.sqrt(integrate(tm, (num - ex) ** 2) / integrate(tm, ex**2)))
        ce.close()
    return errors


@pytest.mark.parametrize("comm", [MPI.COMM_WORLD])
def test_manufactured_solution(comm):
    """B9: rho = 1/2 + 0.3 cos(pi x/L) cos(pi y/L)(1 + t) + 0.1 cos(2 pi x/L) on a 4 um square
    (zero normal derivatives: the closed boundary holds), with a variable mobility factor and an
    extra driving force; mu from its definition (ufl.diff of the double well), the source of the rho
    equation from the SI equation. The exact field is linear in t, so backward Euler is exact in
    time. P1: L2 rate 2 for rho and mu. Measured (n = 8, 16, 32): rho 6.5e-3, 1.6e-3, 4.1e-4; mu
    2.1e-2, 5.2e-3, 1.3e-3 (rates 2.0)."""
    errors = _mms_errors(comm)
    for key, errs in errors.items():
        assert min(_rates(errs)) > 1.8, (key, errs, _rates(errs))


def _coarsening_run(comm, prefix, steps=12):
    """Spinodal decomposition of rho = 0.6 with a fixed +-5 % pattern on a 10 x 10 um square:
    (solid volume, free energy) after each step."""
    p = PoreEvolutionParameters(mobility=3e-18)
    tm = build_strip(comm, 10 * UM, 10 * UM, 40, 40)
    pattern = lambda x: 0.6 + 0.05 * np.sin(7.3e5 * x[0] + 1.0) * np.cos(5.1e5 * x[1] - 0.4) \
        + 0.03 * np.cos(1.9e6 * x[0] * x[1] / (10 * UM))  # noqa: E731
    ce = PoreEvolution(tm, p, pattern, prefix=prefix)
    out = [(ce.solid_volume(), ce.free_energy())]
    for _ in range(steps):
        ce.step(0.05)
        ce.accept()
        out.append((ce.solid_volume(), ce.free_energy()))
    rho = ce.rho().x.array.copy()
    ce.close()
    return out, rho


@pytest.mark.parametrize("comm", [MPI.COMM_WORLD])
def test_solid_volume_is_conserved_and_energy_falls(comm):
    """Closed boundaries: int rho (the SE volume) stays what it was to round-off while the pattern
    separates into solid and pore; the free energy falls at every step. Measured: rho spans 0.95
    after 0.6 s (0.16 at the start), the energy falls to 0.66 of its start."""
    out, rho = _coarsening_run(comm, "ch_coarse_")
    volumes, energies = np.array(out).T
    assert np.max(np.abs(volumes / volumes[0] - 1)) < 1e-12, volumes
    assert np.all(np.diff(energies) < 0), energies
    assert energies[-1] < 0.8 * energies[0]
    spread = comm.allreduce(float(np.ptp(rho)), op=MPI.MAX)
    assert spread > 0.5  # it separated (0.16 at the start)


def test_same_answer_on_one_and_two_ranks():
    """The coarsening run on COMM_SELF (each rank its own copy) and on COMM_WORLD (partitioned
    under mpiexec -n 2): the same volumes and energies to solver tolerance."""
    if MPI.COMM_WORLD.size == 1:
        pytest.skip("needs 2 ranks for the comparison (the serial run is the reference)")
    (a, _), (b, _) = [_coarsening_run(comm, f"ch_parity{k}_") for k, comm in enumerate((MPI.COMM_SELF,
                                                                                       MPI.COMM_WORLD))]
    np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-9)
