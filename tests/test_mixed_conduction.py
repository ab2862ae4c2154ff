"""Mixed ionic-electronic conduction with a local Li+/Li0 reaction: manufactured solution with
an asserted rate, and charge conservation between an ionic electrode and an electronic contact."""

import math

from mpi4py import MPI

import pytest
import ufl
from dolfinx import default_scalar_type, fem
from ssbx.fem.boundary import integrate
from ssbx.fem.conduction import Electrode
from ssbx.fem.kinetics import ButlerVolmer
from ssbx.fem.mixed_conduction import ElectronicContact, MixedConduction
from ssbx.geometries.strip import build_strip

UM = 1e-6
BV = ButlerVolmer(exchange_current=20.0)


@pytest.mark.serial
def test_manufactured_solution_rate():
    """B9: phi_e = A cos(pi x/L) cos(pi y/L), phi_s = B sin(pi x/2L)(1 + cos(pi y/L)/2) satisfy
    the blocking and contact (phi_s = 0 at x = 0) conditions; sources from UFL; overpotentials of
    tens of mV make the Butler-Volmer coupling nonlinear. P1: L2 rate 2."""
    L, sig_i, sig_s, a = 20 * UM, 0.1, 0.5, 1e5
    errors = []
    for n in (8, 16, 32):
        tm = build_strip(MPI.COMM_SELF, L, L, n, n)
        x = ufl.SpatialCoordinate(tm.mesh)
        pe = 0.03 * ufl.cos(math.pi * x[0] / L) * ufl.cos(math.pi * x[1] / L)
        ps = 0.02 * ufl.sin(math.pi * x[0] / (2 * L)) * (1 + 0.5 * ufl.cos(math.pi * x[1] / L))
        r = a * BV.current(ps - pe, ufl)
        fe = -ufl.div(sig_i * ufl.grad(pe)) - r
        fs = -ufl.div(sig_s * ufl.grad(ps)) + r
        zero = fem.Constant(tm.mesh, default_scalar_type(0.0))
        mc = MixedConduction(tm, sig_i, sig_s, BV, specific_area=a, contacts=[ElectronicContact(("strip_left",), zero)],
                             source=(fe, fs), prefix=f"mms_mixed_{n}_")
        mc.solve()
        he, hs = mc.potentials()
        err = integrate(tm, (he - pe) ** 2 + (hs - ps) ** 2)
        ref = integrate(tm, pe**2 + ps**2)
        errors.append(math.sqrt(err / ref))
    rates = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert rates[-1] > 1.85, (errors, rates)


@pytest.mark.parametrize("comm", [MPI.COMM_WORLD])
def test_charge_conservation_electrode_to_contact(comm):
    """Li+ enters a mixed conductor from a Li electrode (top), is reduced inside by the local
    reaction, and the electrons leave through the current collector (bottom): what the
    electrode delivers, the contact carries, and the reaction converts, to 1e-8."""
    tm = build_strip(comm, 10 * UM, 25 * UM, 4, 20)
    collector = fem.Constant(tm.mesh, default_scalar_type(-0.05))  # the layer is polarised to plate
    mc = MixedConduction(tm, 0.05, 10.0, BV, specific_area=2e5,
                         electrodes={"li": Electrode(("strip_top",), BV)},
                         contacts=[ElectronicContact(("strip_bottom",), collector)], prefix="cons_mixed_")
    mc.solve()
    i_in = mc.electrode_current("li")
    i_out = mc.contact_current(0)
    i_react = mc.reaction_current()
    assert i_in > 0 and abs(i_in) > 1e-9
    assert i_out == pytest.approx(i_in, rel=1e-8)  # electrons in from the collector = current out
    assert -i_react == pytest.approx(i_in, rel=1e-8)  # all of it plated inside (cathodic reaction)
