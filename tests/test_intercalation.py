"""Li+ transport through an intercalation host (MIEC graphite) with Li0 sites: equivalence with
Fickian diffusion with D(x), OCP equilibrium, charge and Li inventory conservation, the
nucleation barrier, and 1 vs 2 rank parity on the interlayer geometry."""

from mpi4py import MPI

import numpy as np
import pytest
import ufl
from dolfinx import default_scalar_type, fem
from ssbx.fem import graphite
from ssbx.fem.diffusion import Diffusion, Flux
from ssbx.fem.intercalation import IntercalationConduction, IntercalationHost, LithiumSite
from ssbx.fem.kinetics import ButlerVolmer, NucleationBarrier
from ssbx.fem.materials import FARADAY
from ssbx.geometries.interlayer import Interlayer, build_interlayer
from ssbx.geometries.strip import build_strip

UM = 1e-6
PLATING = ButlerVolmer(exchange_current=20.0)


def host(exchange_current=10.0, specific_area=8e5, cells=("strip",)):
    return IntercalationHost(cells, ButlerVolmer(exchange_current=exchange_current), specific_area=specific_area)


def test_open_circuit_slope_is_the_derivative():
    x = np.linspace(0.02, 1.01, 400)
    h = 1e-6
    fd = (graphite.open_circuit_potential(x + h) - graphite.open_circuit_potential(x - h)) / (2 * h)
    assert np.max(np.abs(graphite.open_circuit_slope(x) - fd)) < 1e-6 * np.max(np.abs(fd))
    assert np.all(graphite.open_circuit_slope(np.linspace(0, 1.02, 5000)) < 0)


def test_host_validation():
    with pytest.raises(ValueError, match="specific_area"):
        host(specific_area=0.0)
    tm = build_strip(MPI.COMM_WORLD, 2 * UM, 10 * UM, 1, 4)
    i = fem.Constant(tm.mesh, default_scalar_type(0.0))
    with pytest.raises(ValueError, match="initial_fraction"):
        IntercalationConduction(tm, {}, host(), {}, (("strip_top",), i), initial_fraction=1.0)
    with pytest.raises(KeyError, match="facet group 'nowhere'"):
        IntercalationConduction(tm, {}, host(), {"li": LithiumSite(("nowhere",), PLATING)}, (("strip_top",), i))


def test_equilibrium_at_the_open_circuit_potential():
    """A uniform host at open circuit settles at phi = -U(x) with no exchange current and x unchanged."""
    tm = build_strip(MPI.COMM_WORLD, 2 * UM, 10 * UM, 2, 10)
    i = fem.Constant(tm.mesh, default_scalar_type(0.0))
    ic = IntercalationConduction(tm, {}, host(), {}, (("strip_top",), i), initial_fraction=0.4, prefix="ocp_")
    ic.step(10.0)
    ic.accept()
    phi = ic.potential.x.array
    u = float(graphite.open_circuit_potential(0.4))
    err = tm.comm.allreduce(float(np.max(np.abs(phi + u))) if len(phi) else 0.0, op=MPI.MAX)
    dx = tm.comm.allreduce(float(np.max(np.abs(ic.fraction.x.array - 0.4))), op=MPI.MAX)
    assert err < 1e-9
    assert dx < 1e-12
    assert abs(ic.host_current()) < 1e-12 * 2 * UM * 10.0


def test_migration_form_is_fickian_diffusion_with_ecker_D():
    """In local equilibrium the host's Li+ migration with sigma = F c_max D(x) / |U'(x)| is
    chemical diffusion with D(x): inject 2 A/m^2 of Li+ at one end of a 10 um graphite strip for
    10 min and compare x with ssbx.fem.diffusion (P1, same D(x)) to a few per cent, with the same
    inventory to 1e-9."""
    L, i_app, x0, t_end, n = 10 * UM, 2.0, 0.3, 600.0, 60
    tm = build_strip(MPI.COMM_WORLD, 1 * UM, L, 1, 80)
    i = fem.Constant(tm.mesh, default_scalar_type(i_app))
    fast = host(exchange_current=20.0, specific_area=1e7)  # exchange >> transport: local equilibrium
    ic = IntercalationConduction(tm, {}, fast, {}, (("strip_top",), i), initial_fraction=x0, prefix="fick_ic_")
    c_max = fast.capacity
    diff = Diffusion(tm, lambda c: graphite.diffusivity(c / c_max, ufl), initial=x0 * c_max,
                     fluxes=[Flux(("strip_top",), i_app / FARADAY)], scale=c_max, prefix="fick_d_")
    for _ in range(n):
        ic.step(t_end / n)
        ic.accept()
        diff.step(t_end / n)
        diff.accept()
    Q = ic.Q
    c_cells = fem.Function(Q)
    c_cells.interpolate(fem.Expression(diff.c / c_max, Q.element.interpolation_points))
    x = ic.fraction
    num = tm.comm.allreduce(fem.assemble_scalar(fem.form((x - c_cells) ** 2 * ufl.dx)), op=MPI.SUM)
    den = tm.comm.allreduce(fem.assemble_scalar(fem.form((c_cells - x0) ** 2 * ufl.dx)), op=MPI.SUM)
    assert np.sqrt(num / den) < 0.05  # of the change in x; DG0 vs P1 and the finite exchange rate
    added = i_app * 1 * UM * t_end / FARADAY
    assert abs(ic.host_inventory() - x0 * c_max * L * UM - added) < 1e-9 * added
    assert abs(diff.inventory() - x0 * c_max * L * UM - added) < 1e-6 * added


@pytest.fixture(scope="module")
def interlayer():
    return build_interlayer(MPI.COMM_WORLD, Interlayer(), mesh_size=0.75 * UM)


def interlayer_problem(tm, prefix, barrier=0.020):
    i = fem.Constant(tm.mesh, default_scalar_type(0.0))
    sites = {"foil": LithiumSite(("li_interlayer_interface",), PLATING),
             "pores": LithiumSite(("interlayer_pore_interface",), PLATING),
             "se": LithiumSite(("interlayer_se_interface",), PLATING, nucleation=NucleationBarrier(barrier))}
    ic = IntercalationConduction(tm, {"se": 0.2}, host(cells=("interlayer",)), sites, (("se_top",), i),
                                 initial_fraction=0.3, prefix=prefix)
    return ic, i


def run_interlayer(ic, i, record):
    """3 min at open circuit (steps growing from 1 s), then 0.2 mA/cm^2 (2 A/m^2) for 3 min."""
    rows = []
    steps = [1, 2, 4, 8, 15, 30, 30, 30, 30, 30]
    for current in (0.0, 2.0):
        i.value = current
        for dt in steps:
            inv0 = ic.host_inventory()
            ic.step(float(dt))
            rows.append(record(ic, inv0))
            ic.accept()
    return rows


def record(ic, inv0):
    return {"balance": ic.charge_balance(), "applied": ic.applied(), "host": ic.host_current(),
            "sites": {n: ic.site_current(n) for n in ic.sites}, "inventory_change": ic.host_inventory() - inv0,
            "dt": float(ic.dt.value)}


def test_charge_and_li_inventory_conservation(interlayer):
    """Every step: applied + host + sites = 0 to 1e-8 of the largest current; the host's Li
    changes by exactly -dt * host current / F (1e-10)."""
    ic, i = interlayer_problem(interlayer, "cons_")
    rows = run_interlayer(ic, i, record)
    for r in rows:
        scale = max(abs(r["applied"]), abs(r["host"]), *(abs(v) for v in r["sites"].values()))
        assert abs(r["balance"]) < 1e-8 * scale
        expected = -r["dt"] * r["host"] / FARADAY
        assert abs(r["inventory_change"] - expected) < 1e-10 * max(abs(expected), 1e-30) + 1e-25
    # at rest the Li0 feeds the graphite (it strips); on charge the applied current arrives
    assert rows[0]["sites"]["foil"] + rows[0]["sites"]["pores"] > 0 and rows[0]["host"] < 0
    assert rows[-1]["applied"] == pytest.approx(2.0 * Interlayer().width, rel=1e-9)


def test_nucleation_barrier(interlayer):
    """A graphite near LiC6 under 2 A/m^2 pushes the Li+ potential at the interlayer/SE interface
    past the 20 mV barrier: Li0 nucleates there and then carries > 10 % of the current, plating
    (phi > 0) at every nucleated node. With an unreachable barrier nothing nucleates and the
    interface current is exactly zero."""
    ic, i = interlayer_problem(interlayer, "nuc_")
    near_full = np.full(ic.Q.dofmap.index_map.size_local + ic.Q.dofmap.index_map.num_ghosts, 0.995)
    ic.set_fraction(near_full)
    i.value = 2.0
    ic.step(1.0)
    ic.accept()
    assert -ic.site_current("se") > 0.1 * ic.applied()
    phi = ic.potential
    state = ic.nucleated["se"]
    dofs = ic._site_dofs["se"]
    on = state.x.array[dofs] > 0.5
    ok = bool(np.all(phi.x.array[dofs][on] > 0.0))
    assert tm_all(interlayer, ok)
    assert interlayer.comm.allreduce(int(on.sum()), op=MPI.SUM) > 0
    blocked, j = interlayer_problem(interlayer, "nuc_off_", barrier=10.0)
    blocked.set_fraction(near_full)
    j.value = 2.0
    blocked.step(1.0)
    assert blocked.site_current("se") == 0.0


def tm_all(tm, flag: bool) -> bool:
    return bool(tm.comm.allreduce(flag, op=MPI.LAND))


def test_one_vs_two_ranks(interlayer):
    """Path currents after rest and charge on COMM_WORLD equal those on COMM_SELF (1e-8)."""
    ic, i = interlayer_problem(interlayer, "par_w_")
    world = run_interlayer(ic, i, record)[-1]
    if MPI.COMM_WORLD.size == 1:
        pytest.skip("needs 2 ranks for the comparison (the serial run is the reference)")
    tm1 = build_interlayer(MPI.COMM_SELF, Interlayer(), mesh_size=0.75 * UM)
    ic1, i1 = interlayer_problem(tm1, "par_s_")
    single = run_interlayer(ic1, i1, record)[-1]
    for name in ("host", "applied"):
        assert world[name] == pytest.approx(single[name], rel=1e-8, abs=1e-14)
    for name, v in single["sites"].items():
        assert world["sites"][name] == pytest.approx(v, rel=1e-7, abs=1e-12)
