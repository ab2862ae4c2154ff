"""cell_assembly: verification of its pieces and the trends of the study.

* Lame thick cylinder (DESIGN.md B3), plane strain, elastic: sigma_r = A1 - A2/r^2,
  sigma_t = A1 + A2/r^2, A1 = p a^2/(b^2 - a^2), A2 = p a^2 b^2/(b^2 - a^2),
  u = (1+nu)/E [(1-2nu) A1 r + A2/r] (Timoshenko & Goodier, Theory of Elasticity, section 28).
* Contact patch test across the staggered tube/contents interface: a solid cylinder with a
  radial-hoop eigenstrain e (eps*_rr = eps*_tt = e, u_z = 0 on its ends) inside a plane-strain
  tube. With the Lame constants lambda, mu of the core, eps_r = eps_t = u(a)/a is uniform and
  sigma_r = 2(lambda+mu)(eps_r - e), so the contact pressure is uniform and, with the penalty
  compliance 1/k_n and the tube's compliance 1/k_t = u(a)/p (B3),
      p (a/(2(lambda+mu)) + 1/k_n + 1/k_t) = a e.
  The tube must receive exactly that pressure at every wall node, and both bodies the same force.
* ViscoplasticLi: consistent tangent against finite differences; Norton/Perzyna relaxation
  (DESIGN.md B1) is tested for the shared radial return in tests/test_li_creep.py, Hill's
  cylinder (B4) in tests/test_plasticity.py, single-element compaction in tests/test_compaction.py.
* The study, coarse: PTFE bulges plastically and keeps a residual gap; Li flows into it at
  10 MPa; during charge the rod reaction rises and Li moves deeper into the gap; the foil thins
  more at its centre than at its edge. Run in two parts through a checkpoint (restart), on 1 and
  2 ranks (parity), and a densification that cannot converge ends with a message and a checkpoint.
* Die-wall friction (mu = 0.2, the default) through loading, unloading, assembly and charge: the far
  rod's reaction falls short of the applied pressure by exactly the wall's friction force, the
  pressed end of the pellet ends denser, friction stays locked in after unloading.
* ElastoplasticSolid's residual line search: plain Newton cycles on a saturating (atan) support
  when unloaded; with the backtracking it converges.
"""

import csv
import math

from mpi4py import MPI

import numpy as np
import pytest
import ufl
from dolfinx import default_scalar_type, fem
from ssbx.fem.boundary import FixedComponent, NormalPressure, measure
from ssbx.fem.li_creep import li_creep
from ssbx.fem.plasticity import (
    ElastoplasticSolid,
    J2Material,
    LinearElastic,
    PlasticityDivergedError,
    ViscoplasticLi,
    return_mapping,
)
from ssbx.geometries.strip import build_strip
from ssbx.studies.cell_assembly import TubeWallContact, lame_wall_stiffness
from ssbx.studies.runner import prepare, run_case

A, B, L = 3e-3, 6e-3, 1e-3
E_T, NU_T = 0.5e9, 0.46  # PTFE-like tube
E_C, NU_C = 20e9, 0.3  # stiff core

COARSE = {"figure": "false", "mesh.size_max": "1.5 mm", "mesh.cells_across": "1", "charge_steps": "8",
          "hold_steps": "2", "load_increments": "4", "geometry.rod_length": "3 mm",
          "geometry.rod_protrusion": "1 mm"}


def _tube(comm, nx=12):
    tm = build_strip(comm, B - A, L, nx, 2, kind="axisymmetric", x0=A)
    return tm


def test_lame_thick_cylinder():
    comm = MPI.COMM_WORLD
    tm = _tube(comm)
    p = fem.Constant(tm.mesh, default_scalar_type(5e6))
    solid = ElastoplasticSolid(tm, LinearElastic(E_T, NU_T), fixed=[FixedComponent(("strip_bottom", "strip_top"), 1)],
                               pressures=[NormalPressure(("strip_left",), p)], prefix="lame_")
    solid.step()
    A1, A2 = 5e6 * A**2 / (B**2 - A**2), 5e6 * A**2 * B**2 / (B**2 - A**2)

    def u_exact(r):
        return (1 + NU_T) / E_T * ((1 - 2 * NU_T) * A1 * r + A2 / r)

    x = solid.V.tabulate_dof_coordinates()[:, 0]
    ur = solid.u.x.array.reshape(-1, 2)[:, 0]
    err = comm.allreduce(float(np.max(np.abs(ur - u_exact(x)))), op=MPI.MAX)
    assert err < 1e-5 * u_exact(A)
    r, sig = solid.quadrature_values()  # Mandel (rr, zz, tt, rz)
    e_r = np.abs(sig[:, 0] - (A1 - A2 / r**2)).max(initial=0.0)
    e_t = np.abs(sig[:, 2] - (A1 + A2 / r**2)).max(initial=0.0)
    assert comm.allreduce(max(e_r, e_t), op=MPI.MAX) < 3e-3 * 5e6  # stresses of P2: O(h^2), nu = 0.46
    assert lame_wall_stiffness(E_T, NU_T, A, B) == pytest.approx(5e6 / u_exact(A), rel=1e-12)


def test_contact_patch_across_staggered_interface():
    comm = MPI.COMM_WORLD
    core_tm = build_strip(comm, A, L, 6, 4, kind="axisymmetric")
    tube_tm = build_strip(comm, B - A, L, 12, 4, kind="axisymmetric", x0=A)
    k_t = lame_wall_stiffness(E_T, NU_T, A, B)
    # a soft penalty (k_n = k_t): the penetration is then as large as the wall displacement, so the
    # z-periodic wiggle of the P2 Lame field (1/r is not in P2) stays at ~1e-5 in p
    coupling = TubeWallContact(core_tm, tube_tm, ["strip_right"], ["strip_left"], 0.3 * k_t, penalty=1 / 0.3,
                               rtol=1e-7, max_iterations=200)
    e = 1e-3
    law = ViscoplasticLi(E_C, NU_C, li_creep(yield_stress=1e12), time_step=1.0,
                         eigenstrain_rate=np.array([e, 0.0, e, 0.0]))
    core = ElastoplasticSolid(core_tm, law, fixed=[FixedComponent(("axis",), 0),
                                                   FixedComponent(("strip_bottom", "strip_top"), 1)],
                              extra_residual=coupling.residual, prefix="patch_core_", atol=1e-9)
    tube = ElastoplasticSolid(tube_tm, LinearElastic(E_T, NU_T),
                              fixed=[FixedComponent(("strip_bottom", "strip_top"), 1)],
                              pressures=[NormalPressure(("strip_left",), coupling.wall_pressure)],
                              prefix="patch_tube_", atol=1e-9)
    coupling.bind(core, tube)
    coupling.solve()
    coupling.accept()
    lam = E_C * NU_C / ((1 + NU_C) * (1 - 2 * NU_C))
    mu = E_C / (2 * (1 + NU_C))
    k_n = k_t
    p_exact = A * e / (1 / k_n + 1 / k_t + A / (2 * (lam + mu)))
    pc = coupling.p_c[coupling.c_dofs < core.V.dofmap.index_map.size_local]
    pmin = comm.allreduce(float(pc.min(initial=np.inf)), op=MPI.MIN)
    pmax = comm.allreduce(float(pc.max(initial=0.0)), op=MPI.MAX)
    assert (pmax - pmin) < 1e-4 * pmax  # uniform
    assert pmax == pytest.approx(p_exact, rel=1e-4)  # closed form
    pt = coupling.wall_pressure.x.array[coupling.t_dofs]
    dev = comm.allreduce(float(np.abs(pt - pmax).max(initial=0.0)), op=MPI.MAX)
    assert dev < 1e-4 * pmax  # transmitted to every wall node of the tube
    f_core, f_tube = coupling.contact_force(), coupling.wall_force()
    assert f_core == pytest.approx(f_tube, rel=1e-6)
    assert f_core == pytest.approx(p_exact * 2 * math.pi * A * L, rel=1e-4)
    # the core shrinks below its initial size: the gap opens (unilateral), no force is left
    law.eigenstrain_rate = np.array([-2 * e, 0.0, -2 * e, 0.0])
    coupling.solve()
    assert coupling.contact_force() == 0.0 and coupling.wall_force() == 0.0
    z, gap, _ = coupling.gap_profile()
    assert comm.allreduce(float(gap.min(initial=np.inf)), op=MPI.MIN) == pytest.approx(A * e, rel=1e-6)


def test_viscoplastic_li_consistent_tangent():
    law = ViscoplasticLi(7.82e9, 0.381, li_creep(yield_stress=0.8e6), time_step=10.0)
    rng = np.random.default_rng(3)
    sig0 = rng.normal(0, 1e6, (6, 4))
    deps = rng.normal(0, 2e-4, (6, 4))
    state = np.zeros((6, 1))
    sig, st, tan = law.update(sig0, state, deps)
    assert np.all(st[:, 0] > 0)  # every point flows
    h = 1e-10
    for j in range(4):
        d = deps.copy()
        d[:, j] += h
        fd = (law.update(sig0, state, d)[0] - sig) / h
        assert np.allclose(fd, tan[:, :, j], rtol=1e-4, atol=1e-4 * 7.82e9)


def test_viscoplastic_li_rate_independent_limit_is_perfect_plasticity():
    """time_step = inf: perfectly plastic at the creep law's yield stress, i.e. J2 without
    hardening (stresses, plastic strain and tangent); a zero eigenstrain rate must not turn the
    inf into nan."""
    law = ViscoplasticLi(7.82e9, 0.381, li_creep(yield_stress=0.8e6), time_step=np.inf)
    j2 = J2Material(7.82e9, 0.381, 0.8e6, 0.0)
    rng = np.random.default_rng(5)
    sig0 = rng.normal(0, 1e5, (8, 4))
    deps = rng.normal(0, 3e-4, (8, 4))
    sig, st, tan = law.update(sig0, np.zeros((8, 1)), deps)
    sig_j, p_j, tan_j = return_mapping(j2, sig0, np.zeros(8), deps)
    assert np.all(np.isfinite(sig)) and np.all(p_j > 0)
    assert np.allclose(sig, sig_j, rtol=1e-12, atol=1e-6) and np.allclose(st[:, 0], p_j, rtol=1e-12)
    assert np.allclose(tan, tan_j, rtol=1e-10, atol=1e-3)
    with pytest.raises(ValueError, match="time_step"):
        ViscoplasticLi(7.82e9, 0.381, li_creep(), time_step=0.0)


def _run(tmp, comm=MPI.COMM_WORLD, case="t", **over):
    raw = {"study": "cell_assembly", "case": case}
    return run_case(prepare(raw, {**COARSE, **over}), comm, tmp)


def test_study_trends_through_a_restart(shared_tmp_path):
    # frictionless: the rod reaction equals the frame pressure exactly (friction: test below)
    a = _run(shared_tmp_path, case="press", steps='["densify"]', wall_friction="0")
    assert a.status == "complete", a.error
    ck = a.path / "densify.npz"
    assert ck.exists()
    b = _run(shared_tmp_path, case="cell", steps='["assemble", "charge"]', restart_from=str(ck), wall_friction="0")
    assert b.status == "complete", b.error
    r = {**a.results, **b.results}
    # step 1: PTFE bulges plastically and keeps most of the bulge; a gap is left next to the Li
    assert r["densify_ptfe_max_plastic_strain"] > 0.01
    assert r["densify_max_residual_bulge_m"] > 0.5 * r["densify_max_bulge_at_peak_m"] > 20e-6
    assert r["densify_residual_gap_at_li_m"] > 20e-6
    assert 0.80 < r["densify_mean_density_unloaded"] < 0.88
    # step 2: Li creeps into the gap during the hold at 10 MPa
    assert r["assemble_li_gap_volume_m3"] > 5 * r["assemble_li_gap_volume_after_ramp_m3"] > 0
    assert r["assemble_reaction_pressure_Pa"] == pytest.approx(10e6, rel=1e-6)
    # step 3: plated Li against the fixed frame raises the pressure and pushes Li deeper
    # the tube receives the radial force the contents exert (force-conservative transfer; the
    # remainder is the nodal vs quadrature evaluation of the penalty and the stagger tolerance)
    with (a.path / "densify.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        assert float(row["wall_force_N"]) == pytest.approx(float(row["contact_force_N"]), rel=0.05)
    assert r["charge_reaction_pressure_end_Pa"] > 1.5 * r["charge_reaction_pressure_start_Pa"]
    assert r["charge_li_gap_volume_end_m3"] > 2 * r["charge_li_gap_volume_start_m3"]
    assert r["charge_foil_change_centre_m"] < r["charge_foil_change_edge_m"]
    missing = [f for f in ("tube_wall.csv", "residual_gap.csv", "densify.csv", "fields_densify_contents.bp")
               if not (a.path / f).exists()]
    missing += [f for f in ("assemble.csv", "charge.csv", "li_outline.csv", "charge.npz", "fields_charge_tube.pvd")
                if not (b.path / f).exists()]
    assert not MPI.COMM_WORLD.bcast(missing, root=0)  # one verdict for all ranks (shared folder)


def test_unconvergeable_densification_ends_with_message_and_checkpoint(shared_tmp_path):
    res = _run(shared_tmp_path, case="fail", steps='["densify"]', densify_pressure="3000 MPa", max_cutbacks=0,
               newton_max_it=2)
    assert res.status == "failed"
    assert "SolveDivergedError" in res.error and "densify_failed.npz" in res.error
    assert (res.path / "densify_failed.npz").exists()


def test_parity_world_vs_self(shared_tmp_path):
    """Same scalars on COMM_WORLD (2 ranks) as on one rank (skipped on one rank: trivially equal)."""
    comm = MPI.COMM_WORLD
    if comm.size == 1:
        pytest.skip("parity needs more than one rank")
    over = {"steps": '["densify", "assemble"]', "hold_steps": "1"}
    a = _run(shared_tmp_path / "world", case="p", **over)
    b = _run(shared_tmp_path / f"self{comm.rank}", comm=MPI.COMM_SELF, case="p", **over)
    assert a.status == b.status == "complete"
    for key in ("densify_max_residual_bulge_m", "densify_mean_density_unloaded", "assemble_li_gap_volume_m3"):
        assert a.results[key] == pytest.approx(b.results[key], rel=1e-6), key


def test_die_wall_friction_through_loading_unloading_and_charge(shared_tmp_path):
    """Coulomb die-wall friction mu = 0.2 (penalty stick, Robin-stabilised stagger): the densify
    step completes loading to 300 MPa and unloading, the wall carries part of the load (the far rod
    sees less than the applied pressure, by exactly the friction force), the pellet ends denser at
    the pressed end than at the far end (frictionless: no such gradient), friction locked in after
    unloading holds an axial force, and assemble/charge run from the checkpoint (friction history)."""
    p, area = 300e6, math.pi * 3.175e-3**2
    free = _run(shared_tmp_path, case="mu0", steps='["densify"]', wall_friction="0")
    fric = _run(shared_tmp_path, case="mu02", steps='["densify"]', wall_friction="0.2")
    assert free.status == "complete", free.error
    assert fric.status == "complete", fric.error
    r0, rf = free.results, fric.results
    assert rf["densify_increments"] >= 4 + 2  # all of loading and unloading (cutbacks add increments)
    # frictionless: the far rod carries the whole load; friction: 0.5-3 % goes into the wall (thin pellet)
    assert r0["densify_reaction_at_peak_Pa"] == pytest.approx(p, rel=1e-6)
    assert r0["densify_friction_force_at_peak_N"] == 0.0
    assert 0.97 * p < rf["densify_reaction_at_peak_Pa"] < 0.995 * p
    # axial balance of the contents: applied = far-rod reaction + wall friction
    assert (p - rf["densify_reaction_at_peak_Pa"]) * area == pytest.approx(rf["densify_friction_force_at_peak_N"],
                                                                           rel=0.02)
    # after unloading the friction stays locked in and the far rod holds it (frictionless: nothing)
    assert abs(rf["densify_residual_friction_force_N"]) > 10.0
    assert -rf["densify_residual_reaction_Pa"] * area == pytest.approx(rf["densify_residual_friction_force_N"],
                                                                       rel=0.05)
    assert abs(r0["densify_residual_reaction_Pa"]) < 1e-3
    # density: the pressed (top) half densifies more than the far half with friction; less so without
    grad0 = r0["densify_density_top_half"] - r0["densify_density_bottom_half"]
    gradf = rf["densify_density_top_half"] - rf["densify_density_bottom_half"]
    assert gradf > 3e-4 and gradf > grad0 + 3e-4
    assert rf["densify_mean_density_unloaded"] < r0["densify_mean_density_unloaded"]
    assert rf["densify_residual_gap_at_li_m"] > 20e-6  # the tube still keeps a gap
    # assemble and charge with friction, restarted from the densify checkpoint
    b = _run(shared_tmp_path, case="mu02cell", steps='["assemble", "charge"]', wall_friction="0.2",
             restart_from=str(fric.path / "densify.npz"))
    assert b.status == "complete", b.error
    rb = b.results
    assert rb["assemble_reaction_pressure_Pa"] < 10e6  # part of the frame load rests on the wall
    assert rb["charge_reaction_pressure_end_Pa"] > 1.5 * rb["charge_reaction_pressure_start_Pa"]
    assert rb["charge_li_gap_volume_end_m3"] > rb["charge_li_gap_volume_start_m3"]


def test_line_search_ends_newton_cycling():
    """A saturating support K d atan(u_z/d) under the loaded face of a soft block (stiffness k_b << K):
    unloading from u_z ~ 6 d, plain Newton jumps to |u_z| >> d, where the support is flat, and
    cycles between +-(pi/2) K d/k_b; the residual backtracking converges to u_z = 0."""
    comm = MPI.COMM_WORLD
    K, d = 1e15, 1e-6  # Pa/m, m
    results = {}
    for ls in (False, True):
        tm = build_strip(comm, 1e-3, 1e-3, 2, 2)
        load = fem.Constant(tm.mesh, default_scalar_type(0.9 * K * d * math.pi / 2))

        def support(u, v, tm=tm):
            return K * d * ufl.atan(u[1] / d) * v[1] * measure(tm, facets=("strip_top",))

        solid = ElastoplasticSolid(tm, LinearElastic(1e9, 0.3), fixed=[FixedComponent(("strip_bottom",), 1),
                                                                       FixedComponent(("strip_left",), 0)],
                                   pressures=[NormalPressure(("strip_top",), load)], extra_residual=support,
                                   line_search=ls, max_it=40, prefix=f"ls_{int(ls)}_", atol=1e-6)
        solid.step()
        load.value = 0.0
        try:
            solid.step()
            results[ls] = comm.allreduce(float(np.abs(solid.u.x.array).max(initial=0.0)), op=MPI.MAX)
        except PlasticityDivergedError:
            results[ls] = None
    assert results[False] is None  # plain Newton: no convergence
    assert results[True] is not None and results[True] < 1e-12
