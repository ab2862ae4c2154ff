"""SE powder compaction (Shima-Oyane with density hardening, fem/compaction.py) and the
multi-material quadrature-point solid (fem/plasticity.py).

Closed forms (derived in the fem.compaction docstring, DESIGN.md M2 "compaction of a single element
against the chosen model's closed-form path"):
* closed die, rigid-plastic limit: |p| = rho^n sigma_M / (c sqrt(1 + 4c^2/9)), sigma_z = p (1 + 4c^2/9),
  sigma_r = p (1 - 2c^2/9), eps_z = rho_0/rho - 1, c = alpha (1 - rho)^gamma;
* isostatic compaction, exact with elasticity: p = -rho^n sigma_M / c, tr eps = rho_0/rho - 1 + p/K(rho).
"""

import dataclasses

from mpi4py import MPI

import numpy as np
import pytest
from dolfinx import default_scalar_type, fem
from dolfinx import mesh as dmesh
from ssbx.fem.boundary import FixedComponent, NormalPressure, integrate
from ssbx.fem.compaction import PowderCompaction
from ssbx.fem.plasticity import (
    ConstitutiveLaw,
    ElastoplasticSolid,
    J2Material,
    LinearElastic,
    PlasticityDivergedError,
)
from ssbx.geometries.strip import build_strip
from ssbx.geometries.tagged_mesh import AXISYMMETRIC, TaggedMesh

LAW = PowderCompaction()
#: elasticity 1e4 x stiffer: the rigid-plastic limit of the closed-die closed form (elastic strains ~1e-6)
RIGID = dataclasses.replace(LAW, dense_youngs_modulus=LAW.dense_youngs_modulus * 1e4)
DIE = np.array([0.0, 1.0, 0.0, 0.0])  # axisymmetric Mandel (rr, zz, tt, rz): axial strain only


def _die_path(law, strains):
    """Pure return-mapping path under the axial strains ``strains`` (lateral strain zero)."""
    sig, state = np.zeros((1, 4)), law.initial_state(1)
    out, prev = [], 0.0
    for ez in strains:
        sig, state, _ = law.update(sig, state, (ez - prev) * DIE[None])
        prev = ez
        out.append((sig[0].copy(), state[0].copy()))
    return out


# -- the law on its own ---------------------------------------------------------------------------
@pytest.mark.parametrize("field, value", [
    ("initial_density", 1.0), ("initial_density", 0.0), ("initial_density", -0.2),
    ("dense_youngs_modulus", -1e9), ("poisson_ratio", 0.5), ("matrix_yield_stress", 0.0),
    ("shape_coefficient", -1.0), ("shape_coefficient", 6.2), ("shape_exponent", float("nan")),
    ("density_exponent", 0.0), ("modulus_exponent", -1.0),
])
def test_bad_parameters_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        PowderCompaction(**{field: value})


def test_laws_satisfy_the_protocol():
    """Every law is a ConstitutiveLaw; J2 with infinite yield stress is Hooke's law."""
    j2, el = J2Material(193e9, 0.28, np.inf), LinearElastic(193e9, 0.28)
    assert all(isinstance(m, ConstitutiveLaw) for m in (LAW, j2, el))
    rng = np.random.default_rng(3)
    sig, deps = rng.normal(0, 1e8, (4, 4)), rng.normal(0, 1e-3, (4, 4))
    a, b = j2.update(sig, j2.initial_state(4), deps), el.update(sig, el.initial_state(4), deps)
    assert np.allclose(a[0], b[0], rtol=1e-14) and np.allclose(a[2], b[2], rtol=1e-14)


def test_calibration_300_mpa():
    """Defaults: 300 MPa closed-die pressing from the 0.55 fill gives 0.83 (DESIGN.md section 1 pellet),
    and PowderCompaction.calibrated reproduces the tabulated sigma_M."""
    rho = LAW.die_compaction_density(300e6)
    assert 0.80 <= rho <= 0.85 and abs(rho - 0.83) < 1e-3, rho
    sm = PowderCompaction.calibrated(0.83, 300e6).matrix_yield_stress
    assert abs(sm / LAW.matrix_yield_stress - 1) < 1e-3, sm
    assert LAW.die_compaction_density(1e6) == LAW.initial_density  # below first yield: no densification


def test_consistent_tangent_matches_finite_differences():
    """Algorithmic tangent vs central differences of the return mapping, over compressive,
    tensile and elastic points and densities 0.56-0.9."""
    rng = np.random.default_rng(1)
    n = 120
    state = LAW.initial_state(n)
    state[:, 4] = rng.uniform(0.56, 0.9, n)
    pre = rng.normal(0, 0.01, (n, 4))
    pre[: n // 2, :3] -= 0.02  # half compacted, half pulled
    sig, state, _ = LAW.update(np.zeros((n, 4)), state, pre)
    deps = rng.normal(0, 3e-3, (n, 4))
    deps[::7] *= 1e-3  # some elastic steps
    _, new, tan = LAW.update(sig, state, deps)
    plastic = new[:, 4] != state[:, 4]
    assert 0.5 < plastic.mean() < 1.0
    h = 1e-7
    for j in range(4):
        up, down = deps.copy(), deps.copy()
        up[:, j] += h
        down[:, j] -= h
        fd = (LAW.update(sig, state, up)[0] - LAW.update(sig, state, down)[0]) / (2 * h)
        err = np.abs(fd - tan[:, :, j]).max(axis=1) / np.abs(tan).max(axis=(1, 2))
        assert err.max() < 1e-6, (j, err.max())


def test_die_compaction_return_mapping_closed_form():
    """Rigid-plastic closed-die path: axial and lateral stress at the current density, and the
    density from mass conservation, at every step (backward Euler is exact in this limit)."""
    strains = np.linspace(0, -0.36, 19)[1:]
    for ez, (sig, state) in zip(strains, _die_path(RIGID, strains), strict=True):
        rho = state[4]
        axial, lateral = RIGID.die_compaction_stresses(rho)
        assert abs(rho / (RIGID.initial_density / (1 + ez)) - 1) < 1e-5
        assert abs(sig[1] / axial - 1) < 1e-5 and abs(sig[0] / lateral - 1) < 1e-3 and sig[0] == sig[2]
    # the calibrated (finite) elasticity keeps the rigid-plastic density within 1e-3
    big, small = _die_path(LAW, [-0.34]), _die_path(LAW, np.linspace(0, -0.34, 341)[1:])
    assert abs(big[-1][1][4] - small[-1][1][4]) < 1e-3  # one step or 340: nearly the same end state
    rho = small[-1][1][4]
    assert abs(LAW.die_compaction_density(-small[-1][0][1]) - rho) < 1e-3


def test_hydrostatic_compaction_closed_form():
    """Isostatic path in five large steps: p(rho) and tr eps(rho) exact, elasticity included."""
    sig, state = np.zeros((1, 4)), LAW.initial_state(1)
    ev = 0.0
    for dv in (-0.05, -0.1, -0.1, -0.05, -0.02):
        sig, state, _ = LAW.update(sig, state, dv / 3 * np.array([[1.0, 1.0, 1.0, 0.0]]))
        ev += dv
        rho = state[0, 4]
        assert abs(sig[0, :3].mean() / LAW.hydrostatic_pressure(rho) - 1) < 1e-9
        assert np.ptp(sig[0, :3]) < 1e-6 * abs(sig[0, 0]) and abs(sig[0, 3]) < 1e-6
        assert abs(LAW.hydrostatic_volumetric_strain(rho) - ev) < 1e-10
    assert rho > 0.78


def test_springback_is_elastic_with_porous_moduli():
    """After pressing, releasing all stress is linear elastic with E(rho): zero stress at
    eps^e = C(rho)^-1 sigma, unchanged state, elastic tangent; uniaxial unloading follows E(rho)."""
    sig, state = _die_path(LAW, [-0.3])[-1]
    sig, state = sig[None], state[None]
    rho = state[0, 4]
    C = LAW.elastic_matrix(state)[0]
    free, new, tan = LAW.update(sig, state, -np.linalg.solve(C, sig[0])[None])
    assert np.abs(free).max() < 1e-9 * abs(sig).max()
    assert np.array_equal(new, state) and np.allclose(tan[0], C, rtol=1e-14)
    # from the stress-free pellet, a small uniaxial stress 1 MPa needs 1 MPa / E(rho) axially
    eps = np.linalg.solve(C, np.array([0.0, -1e6, 0.0, 0.0]))
    assert abs(-1e6 / eps[1] / LAW.youngs_modulus(rho) - 1) < 1e-12
    assert abs(LAW.youngs_modulus(rho) - 22e9 * rho**3) < 1.0


# -- finite elements: uniform-strain axisymmetric patch -----------------------------------------------
def _die_solid(comm, law, prefix, hydrostatic=False):
    """Axisymmetric 2x2-cell pellet in a frictionless rigid die (u_r = 0 on the wall), plunger
    pressure P on top; hydrostatic: the same pressure on the wall instead of the die."""
    tm = build_strip(comm, 1e-3, 1e-3, 2, 2, kind=AXISYMMETRIC)
    P = fem.Constant(tm.mesh, default_scalar_type(0.0))
    walls = ("axis",) if hydrostatic else ("axis", "strip_right")
    loaded = ("strip_top", "strip_right") if hydrostatic else ("strip_top",)
    solid = ElastoplasticSolid(tm, law, fixed=[FixedComponent(walls, 0), FixedComponent(("strip_bottom",), 1)],
                               pressures=[NormalPressure(loaded, P)], prefix=prefix)
    return solid, P


def _uniform(solid):
    """Volume-averaged Mandel stress and strain of the accepted state, and the largest deviation of
    a point stress from the average (relative), all over ranks."""
    sig = np.array([solid.average(solid.sig_old[i]) for i in range(4)])
    eps = np.array([solid.average(solid.eps_old[i]) for i in range(4)])
    dev = np.abs(solid.sig_old.x.array.reshape(-1, 4) - sig).max(initial=0.0)
    return sig, eps, solid.tm.comm.allreduce(dev, op=MPI.MAX) / np.abs(sig).max()


def test_die_compaction_fe_closed_form_rigid_limit():
    """FE closed-die path (rigid-plastic limit): density, axial strain and lateral stress against
    the closed form at each plunger pressure."""
    solid, P = _die_solid(MPI.COMM_WORLD, RIGID, "die_rigid_")
    for p in (50e6, 150e6, 300e6):
        P.value = p
        solid.step()
        sig, eps, dev = _uniform(solid)
        rho = solid.mean_density()
        assert dev < 1e-7
        assert abs(rho - RIGID.die_compaction_density(p)) < 1e-5
        assert abs(eps[1] - RIGID.die_compaction_strain(rho)) < 1e-5
        axial, lateral = RIGID.die_compaction_stresses(rho)
        assert abs(sig[1] / -p - 1) < 1e-7 and abs(sig[0] / lateral - 1) < 1e-3 and abs(sig[1] / axial - 1) < 1e-4


def test_die_compaction_fe_calibrated_and_springback():
    """FE closed-die pressing to 300 MPa with the calibrated law: density 0.80-0.85, the same path
    as the pure return mapping driven by the FE strains, and elastic spring-back on release with
    the constrained modulus of E(rho)."""
    solid, P = _die_solid(MPI.COMM_WORLD, LAW, "die_cal_")
    strains, stresses = [], []
    for p in np.linspace(0, 300e6, 7)[1:]:
        P.value = p
        solid.step()
        sig, eps, dev = _uniform(solid)
        strains.append(eps[1])
        stresses.append(sig)
        assert dev < 1e-7
    rho = solid.mean_density()
    assert 0.80 <= rho <= 0.85 and abs(rho - LAW.die_compaction_density(300e6)) < 1e-3, rho
    path = _die_path(LAW, strains)
    for s_fe, (s_rm, _) in zip(stresses, path, strict=True):
        assert np.abs(s_fe - s_rm).max() < 1e-6 * abs(s_rm[1])
    assert abs(path[-1][1][4] - rho) < 1e-9
    P.value = 0.0
    solid.step()
    sig, eps, _ = _uniform(solid)
    assert abs(solid.mean_density() - rho) < 1e-12  # unloading leaves the density alone
    assert abs((eps[1] - strains[-1]) * LAW.constrained_modulus(rho) / 300e6 - 1) < 1e-6
    assert abs(sig[1]) < 1e-6 * 300e6


def test_die_compaction_fe_displacement_control():
    """Plunger displacement prescribed through a Constant: one 30 % step gives the stress and the
    density of the return mapping under the same strain."""
    tm = build_strip(MPI.COMM_WORLD, 1e-3, 1e-3, 2, 2, kind=AXISYMMETRIC)
    w = fem.Constant(tm.mesh, default_scalar_type(0.0))
    solid = ElastoplasticSolid(tm, LAW, prefix="die_disp_", fixed=[
        FixedComponent(("axis", "strip_right"), 0), FixedComponent(("strip_bottom",), 1),
        FixedComponent(("strip_top",), 1, w)])
    w.value = -0.3e-3
    solid.step()
    sig, eps, dev = _uniform(solid)
    (s_rm, state), = _die_path(LAW, [-0.3])
    assert dev < 1e-9 and abs(eps[1] + 0.3) < 1e-12
    assert np.abs(sig - s_rm).max() < 1e-8 * abs(s_rm[1]) and abs(solid.mean_density() - state[4]) < 1e-12


def test_hydrostatic_compaction_fe_closed_form():
    """FE isostatic pressing (pressure on top and wall): p(rho) and tr eps(rho) exact."""
    solid, P = _die_solid(MPI.COMM_WORLD, LAW, "iso_", hydrostatic=True)
    for p in (100e6, 250e6):
        P.value = p
        solid.step()
        sig, eps, dev = _uniform(solid)
        rho = solid.mean_density()
        assert dev < 1e-7
        assert abs(LAW.hydrostatic_pressure(rho) / -p - 1) < 1e-7
        assert abs(eps[:3].sum() - LAW.hydrostatic_volumetric_strain(rho)) < 1e-7


def test_failed_step_restores_the_accepted_state():
    """A step that does not converge raises PlasticityDivergedError with the remedy in its message
    and leaves the last accepted state; step(accept=False) + reject() does the same; an extreme
    plunger pressure (3000 MPa in one step) converges to a density between 0.95 and 1."""
    solid, P = _die_solid(MPI.COMM_WORLD, LAW, "die_fail_")
    P.value = 100e6
    solid.step()
    rho0, u0 = solid.mean_density(), solid.u.x.array.copy()
    P.value = 250e6
    solid.max_it = 2
    with pytest.raises(PlasticityDivergedError, match="cut the load increment"):
        solid.step()
    comm = MPI.COMM_WORLD
    assert solid.mean_density() == rho0 and comm.allreduce(np.array_equal(solid.u.x.array, u0), op=MPI.LAND)
    solid.max_it = 30
    solid.step(accept=False)
    assert solid.mean_density() > rho0 + 0.02  # the trial state is visible...
    solid.reject()
    assert solid.mean_density() == rho0  # ...until rejected
    assert comm.allreduce(np.array_equal(solid.u.x.array, u0), op=MPI.LAND)
    P.value = 3000e6
    solid.step()  # one increment from 100 to 3000 MPa converges (6 Newton iterations)
    assert 0.95 < solid.mean_density() < 1.0


# -- two materials: SE powder in a PTFE ring ------------------------------------------------------------
def _core_ring(comm, a=1e-3, b=1.5e-3, h=1e-3, nx=6, ny=4):
    """Axisymmetric SE core r < a in a PTFE ring a < r < b (one conforming mesh, bonded)."""
    msh = dmesh.create_rectangle(comm, [np.array([0.0, 0.0]), np.array([b, h])], [nx, ny],
                                 dmesh.CellType.triangle, ghost_mode=dmesh.GhostMode.shared_facet)
    tdim = msh.topology.dim
    imap = msh.topology.index_map(tdim)
    cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    mid = dmesh.compute_midpoints(msh, tdim, cells)
    cell_tags = dmesh.meshtags(msh, tdim, cells, np.where(mid[:, 0] < a, 1, 2).astype(np.int32))
    tol = 1e-9 * b
    sides = {"bottom": lambda x: np.abs(x[1]) < tol,
             "se_top": lambda x: (np.abs(x[1] - h) < tol) & (x[0] < a + tol),
             "ptfe_top": lambda x: (np.abs(x[1] - h) < tol) & (x[0] > a - tol),
             "axis": lambda x: np.abs(x[0]) < tol, "ptfe_outer": lambda x: np.abs(x[0] - b) < tol}
    facets, values = [], []
    for tag, where in enumerate(sides.values(), start=1):
        f = dmesh.locate_entities_boundary(msh, tdim - 1, where)
        facets.append(f)
        values.append(np.full(len(f), tag, dtype=np.int32))
    facets, values = np.concatenate(facets), np.concatenate(values)
    order = np.argsort(facets, kind="stable")
    facet_tags = dmesh.meshtags(msh, tdim - 1, facets[order], values[order])
    msh.topology.create_connectivity(tdim - 1, tdim)
    groups = {name: i for i, name in enumerate(sides, start=1)}
    return TaggedMesh(msh, cell_tags, facet_tags, {"se": 1, "ptfe": 2}, groups, AXISYMMETRIC)


def _press_core(comm, prefix):
    """Press the SE core to 150 MPa inside a PTFE ring held by a rigid outer frame; returns
    partition-independent scalars (allreduced)."""
    tm = _core_ring(comm)
    P = fem.Constant(tm.mesh, default_scalar_type(0.0))
    ptfe = J2Material(0.5e9, 0.46, 10e6, hardening=50e6)  # DESIGN.md M2 PTFE; hardening assumed
    solid = ElastoplasticSolid(tm, {"se": LAW, "ptfe": ptfe}, prefix=prefix,
                               fixed=[FixedComponent(("axis", "ptfe_outer"), 0), FixedComponent(("bottom",), 1)],
                               pressures=[NormalPressure(("se_top",), P)])
    its = []
    for p in (50e6, 100e6, 150e6):
        P.value = p
        its.append(solid.step())
    uz = integrate(tm, solid.u[1], facets=("se_top",)) / integrate(tm, 1.0, facets=("se_top",))
    return (np.array([solid.mean_density(("se",)), solid.average(solid.p, ("ptfe",)),
                      solid.average(solid.sig[0], ("ptfe",)), uz]), its, solid)


def test_two_materials_partition_independent():
    """SE powder core and J2 PTFE ring on one mesh: the SE densifies, the PTFE yields, and the
    allreduced results on this communicator equal a serial (COMM_SELF) run on every rank."""
    world, its, solid = _press_core(MPI.COMM_WORLD, "two_world_")
    serial, _, _ = _press_core(MPI.COMM_SELF, "two_self_")
    assert np.allclose(world, serial, rtol=1e-6, atol=0.0), (world, serial)
    rho, p_ptfe, _, uz = world
    assert 0.6 < rho < LAW.die_compaction_density(150e6)  # the yielding ring lets the core bulge
    assert p_ptfe > 1e-3 and uz < 0
    assert max(its) <= 12
    lo = solid.tm.comm.allreduce(float(solid.density.x.array.min()), op=MPI.MIN)
    hi = solid.tm.comm.allreduce(float(solid.density.x.array.max()), op=MPI.MAX)
    assert lo >= LAW.initial_density and hi <= 1.0
    with pytest.raises(ValueError, match="ptfe"):
        ElastoplasticSolid(solid.tm, {"se": LAW}, prefix="two_missing_")
