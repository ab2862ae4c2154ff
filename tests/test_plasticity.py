"""J2 elastoplasticity with return mapping at quadrature points against Hill's thick cylinder
(DESIGN.md B4): plastic radius vs pressure, the stresses of both zones, and the collapse load."""

import math

from mpi4py import MPI

import numpy as np
import pytest
from dolfinx import default_scalar_type, fem
from ssbx.fem.boundary import FixedComponent, NormalPressure
from ssbx.fem.plasticity import ElastoplasticSolid, J2Material, PlasticityDivergedError, return_mapping
from ssbx.geometries.strip import build_strip

A, B = 1e-3, 2e-3


def _cylinder(comm, nu=0.49, n=40):
    """Plane-strain thick cylinder a <= r <= b as an axisymmetric wall with u_z = 0 on both ends,
    internal pressure on r = a."""
    mat = J2Material(70e9, nu, 250e6)
    tm = build_strip(comm, B - A, 0.1e-3, n, 2, kind="axisymmetric", x0=A)
    p = fem.Constant(tm.mesh, default_scalar_type(0.0))
    solid = ElastoplasticSolid(tm, mat, fixed=[FixedComponent(("strip_bottom", "strip_top"), 1)],
                               pressures=[NormalPressure(("strip_left",), p)])
    return mat, solid, p


def test_return_mapping_consistent_tangent():
    """The algorithmic tangent equals the finite-difference derivative of the return mapping."""
    mat = J2Material(70e9, 0.3, 250e6, hardening=5e9)
    rng = np.random.default_rng(1)
    sig0 = rng.normal(0, 100e6, (5, 4))
    p0 = np.zeros(5)
    deps = rng.normal(0, 3e-3, (5, 4))
    sig, _, tan = return_mapping(mat, sig0, p0, deps)
    h = 1e-9
    for j in range(4):
        d = deps.copy()
        d[:, j] += h
        fd = (return_mapping(mat, sig0, p0, d)[0] - sig) / h
        assert np.allclose(fd, tan[:, :, j], rtol=1e-4, atol=1e-3 * mat.youngs_modulus * 1e-4)


@pytest.mark.parametrize("comm", [MPI.COMM_WORLD])
def test_hill_cylinder_plastic_radius_and_stresses(comm):
    """B4: p(c) = k [1 - c^2/b^2 + 2 ln(c/a)], k = sigma_y/sqrt(3); plastic zone
    sigma_r = -p + 2k ln(r/a). The FE plastic front sits within two cells of c."""
    mat, solid, p = _cylinder(comm)
    k = mat.yield_stress / math.sqrt(3)
    h = (B - A) / 40
    for c in (1.2e-3, 1.5e-3, 1.8e-3):
        p.value = k * (1 - c**2 / B**2 + 2 * math.log(c / A))
        solid.step()
        assert abs(solid.plastic_extent() - c) < 2 * h
    r, sig = solid.quadrature_values()
    inside = r < 1.7e-3
    sigma_r = -float(p.value) + 2 * k * np.log(r[inside] / A)
    assert np.max(np.abs(sig[inside, 0] - sigma_r)) < 0.02 * float(p.value)


@pytest.mark.serial
def test_hill_cylinder_collapse_load():
    """B4: no equilibrium above p_L = 2k ln(b/a) for a perfectly plastic cylinder."""
    mat, solid, p = _cylinder(MPI.COMM_SELF, n=20)
    k = mat.yield_stress / math.sqrt(3)
    p_limit = 2 * k * math.log(B / A)
    for f in (0.5, 0.8, 0.95, 0.99):
        p.value = f * p_limit
        solid.step()
    p.value = 1.02 * p_limit
    with pytest.raises(PlasticityDivergedError):
        solid.step()
