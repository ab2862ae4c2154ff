"""Li+ conduction between Butler-Volmer electrodes: the symmetric Li | SE | Li cell voltage
(DESIGN.md B7), charge conservation, and current constriction at a partial contact."""

import math

from mpi4py import MPI

import pytest
import ufl
from ssbx.fem.conduction import Electrode, IonicConduction
from ssbx.fem.kinetics import ButlerVolmer, symmetric_cell_voltage
from ssbx.geometries.strip import build_strip

UM = 1e-6


def _cell(comm, kind, contact=None, width=20 * UM, length=500 * UM, n=(4, 50), prefix="b7_"):
    tm = build_strip(comm, width, length, *n, kind=kind)
    bv = ButlerVolmer(exchange_current=20.0)  # 2 mA/cm^2
    electrodes = {"stripping": Electrode(("strip_bottom",), bv, contact=contact),
                  "plating": Electrode(("strip_top",), bv)}
    return tm, IonicConduction(tm, 0.2, electrodes, prefix=prefix)


@pytest.mark.parametrize("kind", ["plane", "axisymmetric"])
@pytest.mark.parametrize("i", [1.0, 10.0, 50.0])  # 0.1, 1, 5 mA/cm^2
def test_symmetric_cell_voltage_b7(kind, i):
    """V = i L / sigma + 2 (2RT/F) asinh(i / 2 i0), galvanostatic, on 1 or 2 ranks."""
    tm, cond = _cell(MPI.COMM_WORLD, kind, prefix=f"b7_{kind}_{i:g}_")
    area = (math.pi * (20 * UM) ** 2) if kind == "axisymmetric" else 20 * UM
    cond.phi_s["stripping"].value = 0.0
    v_plating = cond.galvanostatic("plating", -i * area)
    expected = symmetric_cell_voltage(i, 500 * UM, 0.2, ButlerVolmer(exchange_current=20.0))
    assert -v_plating == pytest.approx(expected, rel=1e-9)
    # charge conservation: what the stripping electrode sends the plating one receives
    i_strip, i_plate = cond.current("stripping"), cond.current("plating")
    assert i_strip + i_plate == pytest.approx(0.0, abs=1e-8 * abs(i_plate))


def test_partial_contact_constricts_current():
    """Half the stripping face in contact (a void over the other half): the same current needs
    a higher voltage (kinetics on half the area plus constriction), charge is still conserved,
    and the local current density at the contact is about twice the mean."""
    comm = MPI.COMM_WORLD
    x = None

    def contact_of(tm):
        nonlocal x
        x = ufl.SpatialCoordinate(tm.mesh)
        return ufl.conditional(ufl.lt(x[0], 10 * UM), 1.0, 0.0)

    tm0, full = _cell(comm, "plane", prefix="full_")
    tm = build_strip(comm, 20 * UM, 500 * UM, 8, 50)
    bv = ButlerVolmer(exchange_current=20.0)
    half = IonicConduction(tm, 0.2, {"stripping": Electrode(("strip_bottom",), bv, contact=contact_of(tm)),
                                     "plating": Electrode(("strip_top",), bv)}, prefix="half_")
    i = 10.0
    v_full = full.galvanostatic("plating", -i * 20 * UM)
    v_half = half.galvanostatic("plating", -i * 20 * UM)
    assert -v_half > -v_full + 1e-3
    assert half.current("stripping") + half.current("plating") == pytest.approx(0.0, abs=1e-8 * i * 20 * UM)
    from ssbx.fem.boundary import integrate

    in_contact = integrate(tm, half.local_current("stripping") * ufl.conditional(ufl.lt(x[0], 10 * UM), 1.0, 0.0),
                           facets=["strip_bottom"]) / (10 * UM)
    assert in_contact == pytest.approx(2 * i, rel=1e-6)


def test_nucleation_barrier_switches_plating_on_for_good():
    """DESIGN.md M3: plating on a Li-free surface needs a cathodic overpotential past the
    nucleation barrier (20 mV); below it no current flows; once nucleated the surface plates
    (and strips) without barrier, also when driven back below 20 mV."""
    from ssbx.fem.kinetics import NucleationBarrier

    tm = build_strip(MPI.COMM_WORLD, 20 * UM, 100 * UM, 4, 20)
    bv = ButlerVolmer(exchange_current=20.0)
    cond = IonicConduction(tm, 0.2, {"li": Electrode(("strip_bottom",), bv),
                                     "surface": Electrode(("strip_top",), bv, nucleation=NucleationBarrier(0.020))},
                           prefix="nucleation_")
    cond.phi_s["surface"].value = -0.015  # -15 mV: below the barrier
    cond.solve_with_nucleation()
    assert cond.nucleated_fraction("surface") == 0.0
    assert abs(cond.current("surface")) < 1e-14 and abs(cond.current("li")) < 1e-14
    cond.phi_s["surface"].value = -0.030  # past the barrier: nucleates and plates
    rounds = cond.solve_with_nucleation()
    assert rounds == 2 and cond.nucleated_fraction("surface") == pytest.approx(1.0)
    assert cond.current("surface") < 0
    cond.phi_s["surface"].value = -0.015  # back below the barrier: still plating
    cond.solve_with_nucleation()
    i_surface = cond.current("surface")
    assert i_surface < 0 and i_surface + cond.current("li") == pytest.approx(0.0, abs=1e-8 * abs(i_surface))
    # the uniform 1D cell obeys the symmetric-cell law at the current it carries
    i = -i_surface / (20 * UM)
    assert 0.015 == pytest.approx(symmetric_cell_voltage(i, 100 * UM, 0.2, bv), rel=1e-9)


def test_li_volume_and_stress_shift_numbers():
    """DESIGN.md: 1 mAh/cm^2 of Li is 4.85 um of dense Li; Omega p / F = 0.135 mV/MPa; the
    Butler-Volmer inverse (Newton for unequal alphas) returns the overpotential."""
    from ssbx.fem.kinetics import plated_thickness, stress_shift

    assert plated_thickness(3.6e4) == pytest.approx(4.85e-6, rel=2e-3)
    assert stress_shift(1e6) == pytest.approx(0.135e-3, rel=2e-3)
    bv = ButlerVolmer(exchange_current=20.0, alpha_a=0.3, alpha_c=0.7)
    eta = bv.overpotential([-50.0, 5.0, 80.0])
    assert bv.current(eta) == pytest.approx([-50.0, 5.0, 80.0], rel=1e-12)


def test_close_frees_the_solver_collectively():
    """close() destroys the PETSc objects on every rank at once; the later garbage collection of
    the Python object (NonlinearProblem.__del__) is then harmless."""
    import gc

    tm = build_strip(MPI.COMM_WORLD, 20e-6, 100e-6, 1, 10)
    bv = ButlerVolmer(exchange_current=20.0)
    cond = IonicConduction(tm, 0.2, {"a": Electrode(("strip_bottom",), bv), "b": Electrode(("strip_top",), bv)},
                           prefix="close_")
    cond.phi_s["b"].value = 0.01
    cond.solve()
    snes = cond.problem.solver
    cond.close()
    assert snes.handle == 0  # destroyed now, not when the collector runs
    del cond
    gc.collect()  # runs NonlinearProblem.__del__ on the emptied handles: must not raise or hang
    MPI.COMM_WORLD.Barrier()
