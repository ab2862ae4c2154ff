"""# Study `cell_assembly`: pressing, assembling and charging the cell in its PTFE tube

What is simulated (DESIGN.md section 1 and M2), axisymmetric (r, z), in three restartable steps:

1. **densify**: argyrodite powder (fill density rho_0 = 0.55) is pressed between the two SS316
   rods inside the PTFE tube to 300 MPa (ramp with adaptive increments and cutback), held,
   unloaded. The PTFE yields and bulges; after unloading a gap remains between tube and stack.
   During this step the Li foil and cathode layers are not yet in the cell: their cells carry the
   rods' steel (they are rod extensions).
2. **assemble**: the Li foil and the cathode are placed stress-free where the rod extensions were
   (``ElastoplasticSolid.replace_law``), the frame applies 10 MPa and holds it; Li (Perzyna
   overstress creep above 0.8 MPa, :class:`ssbx.fem.plasticity.ViscoplasticLi`) flows into the
   residual gap.
3. **charge**: the frame holds both rod ends fixed; plating at 0.2 mA/cm^2 adds Li at the Li/SE
   interface at the Faradaic rate (1 mAh/cm^2 = 4.85 um of dense Li, Omega_Li = 13.0 cm3/mol) as an
   axial growth eigenstrain of the Li cells next to the SE. The rod reaction (internal pressure)
   rises, Li creeps further into the gap, and the foil outline changes.

## Model and why this route

Two bodies, two meshes: the tube (PTFE, J2 with linear hardening) and the contents (rods, Li,
SE pellet, cathode; bonded to each other: tied axial faces). Small-strain elasto(visco)plasticity
with return mapping at quadrature points (:class:`ssbx.fem.plasticity.ElastoplasticSolid`,
Shima-Oyane powder law of :mod:`ssbx.fem.compaction`).

Tube/contents contact is unilateral, with Coulomb die-wall friction, through the *wall profile*
r_w(z) of the tube bore (DESIGN.md M2's first route): the bore stays a surface of revolution and the contents
slide along it axially (the top rod moves ~0.7 mm while the powder densifies), so the contents
see an obstacle at gap g(z) = r_w(z + u_z) - r along +r, with the penalty contact of
:mod:`ssbx.fem.contact`, and the tube sees the contact pressure p(z) mapped back onto its bore
at the deformed heights. Chosen over a mortar coupling of submeshes (entity_maps) because the
two meshes stay independent (no matching interface, large axial sliding costs nothing) and each
solve reuses the existing single-body solver with its cutback/restore logic.

Staggered iteration per load increment (Robin-stabilised): a plain Dirichlet/Neumann split
diverges here (the contents' lateral stiffness ~ K/R exceeds the tube's p/u by ~30x). The
contents therefore see the wall as a spring of the tube's elastic stiffness k_t (Lame):
wall(p) = r_w^k + (p - p^k)/k_t, which with the penalty k_n is again a penalty obstacle with
stiffness k_s = k_n k_t/(k_n + k_t) and gap g^k - p^k/k_t. At the fixed point (p = p^k) it is the
plain penalty k_n against the tube's own wall, whatever k_t; k_t only sets the convergence rate.
Iterate (contents -> p(z) -> tube -> r_w(z)) until the wall and the pressure change by less than
``stagger_rtol``; a non-converging stagger counts as a failed increment (cutback).

Die-wall friction: Coulomb, ``wall_friction`` = mu = 0.2 by default (argyrodite on PTFE,
assumed; 0 = frictionless), as a penalty law with an elastic stick (stiffness
``friction_stiffness`` x k_n, so the stick slip mu p / k_n is sub-um) and memory of the accepted
wall shear (:class:`TubeWallContact`). The contents see the bore's axial motion through the same
Robin spring k_t as its radial motion, and the Aitken relaxation acts on pressure and wall shear
together. Converges through loading, unloading, assembly and charge for mu = 0.1-0.3 (default
mesh: all 3 steps in ~15 s on 1 core, no cutback; also without cutback on a 0.5 mm mesh with
10 load increments; on the 1.5 mm test mesh the stagger stalls just above its tolerance at the
peak load and cuts back once or twice). An earlier regularised law (friction from the slip of
the current increment only, applied to the tube explicitly, not relaxed) could not unload: at
the reversal the wall shear flipped from -mu p to +mu p at every staggered iteration, since in
the stick zones the friction is ~100x stiffer than the tube's axial response (and the tube's
plain Newton cycled under the flipped shear; friction runs now use ElastoplasticSolid's
residual line search). Effect on the default mesh (mu = 0.2 vs 0): the far rod carries 296 MPa
of the 300 MPa (the pellet is thin, H/D ~ 0.2, and the powder's lateral pressure on the wall is
~40 MPa), the top half of the pellet ends 0.002 denser than the bottom half (frictionless:
0.0006), the mean density 0.8377 vs 0.8388, bulge and residual gap change by < 3 % (the PTFE's
peak plastic strain +14 %). Wall shear locked in after unloading holds ~0.2-1.5 MPa on the far
rod (either sign) and shifts the axial stress in the Li at 10 MPa by up to ~17 %, to which the
steep Li creep reacts strongly: Li in the gap after the hold 0.052 mm3 frictionless, 0.096 /
0.037 / 0.002 mm3 for mu = 0.1 / 0.2 / 0.3 (default mesh; mesh sensitive: 0.18 mm3 for mu = 0.2
on the 0.5 mm mesh), and the rod reaction at the end of charge is 41 MPa (mu = 0 and 0.2),
45 MPa (0.1), 36 MPa (0.3).
Li flow is small-strain (Li strains in the gap are a few %: valid as a trend, not for the
large-strain filling of a wide gap, which needs the finite-strain/flow model of M1). PTFE is rate
independent, so the 10 min hold at 300 MPa changes nothing in this model (it is one increment).

## Outputs
``densify.csv``/``assemble.csv``/``charge.csv`` (time series), ``tube_wall.csv`` (bulge and
residual gap profiles), ``li_outline.csv`` (foil before/after charge), ``fields_<step>_contents``
and ``fields_<step>_tube`` (.bp/.pvd), figures ``density.png``, ``tube_wall.png``,
``charge.png``, ``li_outline.png``; checkpoints ``<step>.npz`` after each step (and on failure),
from which ``restart_from`` starts the next step.

Default config: coarse (1 mm cells, 2 across thin layers, P2), a few increments: minutes on 2
cores. A converged run would use ``mesh.size_max = 0.25 mm``, ``mesh.cells_across = 8`` (so the
plating layer is a thin ~30 um band), ``load_increments = 20`` and ~40 charge steps: ~30x the dofs,
an hour or more on a workstation with MUMPS.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh
from ssbx.fem import kinematics
from ssbx.fem.boundary import FixedComponent, NormalPressure, compiled_integral, integrate, measure, residual_on_facets
from ssbx.fem.compaction import PowderCompaction
from ssbx.fem.contact import RigidObstacle, contact_pressure, contact_residual
from ssbx.fem.io import FieldWriter, ResultDir, TimeSeries, load_checkpoint, save_checkpoint, write_csv_atomic
from ssbx.fem.kinetics import plated_thickness
from ssbx.fem.li_creep import creep_law_for
from ssbx.fem.materials import FARADAY
from ssbx.fem.plasticity import ElastoplasticSolid, J2Material, LinearElastic, PlasticityDivergedError, ViscoplasticLi
from ssbx.fem.timestepping import SolveDivergedError, StepControl, run_adaptive
from ssbx.geometries import AXISYMMETRIC, CellDimensions, TaggedMesh, build_cell
from ssbx.studies.cell_inputs import CellGeometry, CellMaterials, CellMesh, cell_dimensions, cell_meshing
from ssbx.studies.config import choices, quantity

from ssbx.log import get_logger

DESCRIPTION = "cell assembly: powder densification in the PTFE tube, Li assembly at 10 MPa, charge at fixed frame"
log = get_logger(__name__)

STEPS = ("densify", "assemble", "charge")
BIG_GAP = 1.0  # m: "no wall here" (contents outside the tube's height)


@dataclass(frozen=True)
class Config:
    steps: tuple = choices(STEPS, STEPS, doc="steps to run, in order; a later first step needs restart_from")
    restart_from: str = field(default="", metadata={"doc": "checkpoint (.npz) of the previous step"})
    # step 1
    densify_pressure: float = quantity(300e6, "pressure", doc="300 MPa (DESIGN.md section 1)")
    densify_hold: float = quantity(600.0, "time", doc="10 min (DESIGN); not simulated: the PTFE and powder laws "
                                   "are rate-independent, so a hold at constant load changes nothing")
    se_initial_density: float = quantity(0.55, "dimensionless", "fraction", doc="powder fill density (assumed)")
    se_pressed_density: float = quantity(0.83, "dimensionless", "fraction",
                                         doc="calibration: closed-die density at densify_pressure")
    ptfe_hardening: float = quantity(100e6, "pressure", "nonnegative", doc="PTFE linear hardening (assumed)")
    load_increments: int = 5
    unload_increments: int = 2
    max_cutbacks: int = 6
    # step 2
    stack_pressure: float = quantity(10e6, "pressure", doc="frame pressure (DESIGN.md section 1)")
    assemble_hold: float = quantity(600.0, "time", doc="hold at stack pressure (assumed 10 min)")
    hold_steps: int = 3
    # step 3
    current_density: float = quantity(2.0, "current_density", doc="0.2 mA/cm^2, C/20 (DESIGN.md section 1)")
    charge_time: float = quantity(20 * 3600.0, "time", doc="up to 20 h")
    charge_steps: int = 16
    plating_layer: float = quantity(50e-6, "length", doc="Li layer next to the SE that grows (cells within)")
    # numerics
    degree: int = 2
    penalty: float = quantity(100.0, "dimensionless", doc="contact stiffness / tube's Lame stiffness")
    wall_friction: float = quantity(0.2, "dimensionless", "nonnegative",
                                    doc="Coulomb die-wall friction mu (argyrodite on PTFE, assumed); 0 = frictionless")
    friction_stiffness: float = quantity(1.0, "dimensionless", "positive",
                                         doc="stick stiffness of the friction / normal contact stiffness")
    wall_stiffness_factor: float = quantity(0.3, "dimensionless",
                                            doc="Robin spring of the stagger / tube's elastic Lame stiffness")
    stagger_rtol: float = quantity(1e-3, "dimensionless", doc="wall/pressure change that ends the stagger")
    max_stagger: int = 40
    newton_max_it: int = 30
    figure: bool = True
    geometry: CellGeometry = field(default_factory=lambda: CellGeometry(rod_length=5e-3, rod_protrusion=1.5e-3))
    mesh: CellMesh = field(default_factory=lambda: CellMesh(size_max=1e-3, cells_across=2, transition=1e-3))
    materials: CellMaterials = field(default_factory=CellMaterials)

    def __post_init__(self):
        if self.degree not in (1, 2):
            raise ValueError(f"degree: must be 1 or 2, got {self.degree}")
        for name in ("load_increments", "unload_increments", "hold_steps", "charge_steps", "max_stagger",
                     "newton_max_it"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.max_cutbacks < 0:
            raise ValueError(f"max_cutbacks: must be >= 0, got {self.max_cutbacks}")
        order = [STEPS.index(s) for s in self.steps]
        if order != list(range(order[0], order[0] + len(order))):
            raise ValueError(f"steps: must be consecutive steps in the order {list(STEPS)}, got {list(self.steps)}")
        if order[0] > 0 and not self.restart_from:
            raise ValueError(f"restart_from: step '{self.steps[0]}' starts from the checkpoint of "
                             f"'{STEPS[order[0] - 1]}'; give its .npz")
        if not self.se_initial_density < self.se_pressed_density:
            raise ValueError("se_pressed_density: must exceed se_initial_density")
        self.dimensions()

    def dimensions(self) -> CellDimensions:
        """The cell as filled: the pellet has the loose-powder height of se_mass at rho_0."""
        g = self.geometry
        if not g.se_thickness:
            g = dataclasses.replace(g, se_relative_density=self.se_initial_density)
        return cell_dimensions(g, self.materials)


# ------------------------------------------------------------------------------------------------
# Tube <-> contents coupling through the wall profile r_w(z)
# ------------------------------------------------------------------------------------------------

def lame_wall_stiffness(E: float, nu: float, a: float, b: float) -> float:
    """p / u_r(a) (Pa/m) of a plane-strain thick cylinder a <= r <= b under internal pressure p
    (DESIGN.md B3: u = (1+nu)/E [(1-2nu) A1 r + A2/r], A1 = p a^2/(b^2-a^2), A2 = p a^2 b^2/(b^2-a^2))."""
    A1, A2 = a**2 / (b**2 - a**2), a**2 * b**2 / (b**2 - a**2)
    return 1.0 / ((1 + nu) / E * ((1 - 2 * nu) * A1 * a + A2 / a))


class TubeWallContact:
    """Unilateral contact of the contents' radial boundary against a tube bore r_w(z), solved by
    Robin-stabilised staggered iteration (module docstring); frictionless, or with Coulomb die-wall
    friction ``friction`` = mu.

    Construct, build the contents solid with ``extra_residual=coupling.residual`` and the tube solid
    with ``NormalPressure(tube_facets, coupling.wall_pressure)`` (and, with friction,
    ``extra_residual=coupling.tube_residual``), then :meth:`bind` both. ``wall_stiffness`` k_t
    (Pa/m) and ``penalty`` (k_n = penalty k_t) set the springs.

    Friction (penalty Coulomb with an elastic stick, the tangential analogue of the normal penalty,
    e.g. Wriggers, Computational Contact Mechanics, section 5.2): the axial traction on the contents
    is the stick trial q_tr = q_old - k_f ds, clamped to |q| <= mu p (slip), with q_old the accepted
    traction, ds the axial slip of the contents relative to the bore over the increment and k_f =
    ``friction_stiffness`` (Pa/m, default the normal penalty k_n: stick slip mu p / k_n, sub-um).
    The friction has memory, so at a load reversal it passes through stick instead of flipping from
    -mu p to +mu p. The tube receives the opposite traction. As for the pressure, the contents see the
    bore's axial motion through a Robin spring k_t (the bore moves by (q - q^k)/k_t more than in the
    last tube solve), which at the fixed point (q = q^k) drops out: q_tr = (k_t q_old + k_f q^k)/(k_t
    + k_f) - k_f k_t/(k_f + k_t) (u_z - u_z,old - dw^k). Without it, the explicit friction makes the
    stagger flip the traction on the tube at every iteration (stick zones: the friction is ~100x
    stiffer than the tube). The Aitken relaxation acts on (p, q) together.
    """

    def __init__(self, contents_tm: TaggedMesh, tube_tm: TaggedMesh, contents_facets, tube_facets,
                 wall_stiffness: float, penalty: float = 100.0, degree: int = 2, rtol: float = 1e-3,
                 max_iterations: int = 40, friction: float = 0.0, friction_stiffness: float | None = None):
        self.ctm, self.ttm = contents_tm, tube_tm
        self.tube_facets = tuple(tube_facets)
        self.k_t, self.k_n = float(wall_stiffness), penalty * float(wall_stiffness)
        self.k_s = self.k_n * self.k_t / (self.k_n + self.k_t)
        self.k_f = self.k_n if friction_stiffness is None else float(friction_stiffness)
        if friction < 0 or self.k_f <= 0:
            raise ValueError("TubeWallContact: friction must be >= 0 and friction_stiffness > 0")
        self.friction = float(friction)
        self.k_fs = self.k_f * self.k_t / (self.k_f + self.k_t)  # stick spring in series with the Robin spring
        self.rtol, self.max_iterations = rtol, max_iterations
        self.max_relaxation = 10.0
        fdim = contents_tm.mesh.topology.dim - 1
        Vc = fem.functionspace(contents_tm.mesh, ("Lagrange", degree))
        Vt = fem.functionspace(tube_tm.mesh, ("Lagrange", degree))
        self.gap = fem.Function(Vc, name="wall_gap")
        self.gap.x.array[:] = BIG_GAP
        self.wall_pressure = fem.Function(Vt, name="wall_pressure")
        self.stiffness = fem.Constant(contents_tm.mesh, self.k_s)
        self.obstacle = RigidObstacle(tuple(contents_facets), lambda x: self.gap, (1.0, 0.0))
        self.c_dofs = fem.locate_dofs_topological(
            Vc, fdim, np.concatenate([contents_tm.facets(f) for f in contents_facets]))
        self.t_dofs = fem.locate_dofs_topological(Vt, fdim, np.concatenate([tube_tm.facets(f) for f in tube_facets]))
        self.c_owned = self.c_dofs[self.c_dofs < Vc.dofmap.index_map.size_local]
        self.t_owned = self.t_dofs[self.t_dofs < Vt.dofmap.index_map.size_local]
        self.xc = Vc.tabulate_dof_coordinates()[:, :2]
        self.xt = Vt.tabulate_dof_coordinates()[:, :2]
        self.p_c = np.zeros(len(self.c_dofs))  # contact pressure at the contents' wall dofs
        self.pressure_field = fem.Function(Vc, name="contact_pressure")  # p_c as a field (checkpoints)
        self.p_c_old = self.p_c.copy()
        self.slip_ref = fem.Function(Vc, name="slip_reference")  # u_z(accepted) + bore's axial increment
        self.q_base = fem.Function(Vc, name="friction_base")  # stick trial at zero slip (Robin-weighted)
        self.friction_field = fem.Function(Vc, name="wall_friction")  # accepted q_c as a field (checkpoints)
        self.wall_shear = fem.Function(Vt, name="wall_shear")  # axial traction on the bore (Pa)
        self.q_c = np.zeros(len(self.c_dofs))  # axial friction traction on the bore (= -q on the contents)
        self.q_c_old = self.q_c.copy()
        self.contents = self.tube = None
        self.last_newton = 0
        # total radial force of the nodal pressure on each side (compiled once: every stagger
        # iteration rescales the mapped profile with them)
        self._transfer = fem.Function(Vc)
        self._force_c = compiled_integral(contents_tm, self._transfer, facets=tuple(contents_facets))
        self._force_t = compiled_integral(tube_tm, self.wall_pressure, facets=self.tube_facets)

    def residual(self, u, v):
        form = contact_residual(self.ctm, u, v, [self.obstacle], self.stiffness, cell_size=1.0)
        if self.friction > 0:
            q = self.friction_traction(u)
            wt = kinematics.volume_weight(self.ctm.mesh, self.ctm.kind)
            form -= q * v[1] * wt * measure(self.ctm, facets=self.obstacle.facets)
        return form

    def friction_traction(self, u):
        """Axial friction traction on the contents (UFL, Pa): the stick trial clamped to +-mu p."""
        qmax = self.friction * contact_pressure(self.ctm, u, self.obstacle, self.stiffness, cell_size=1.0)
        trial = self.q_base - self.k_fs * (u[1] - self.slip_ref)
        return ufl.max_value(ufl.min_value(trial, qmax), -qmax)

    def tube_residual(self, u, v):
        """The friction traction on the tube's bore (residual term of the tube)."""
        wt = kinematics.volume_weight(self.ttm.mesh, self.ttm.kind)
        return -self.wall_shear * v[1] * wt * measure(self.ttm, facets=self.tube_facets)

    def bind(self, contents: ElastoplasticSolid, tube: ElastoplasticSolid):
        for solid, x in ((contents, self.xc), (tube, self.xt)):
            # the scalar and vector P-k spaces of one mesh share the dof layout (checked once)
            xv = solid.V.tabulate_dof_coordinates()[:, :2]
            if xv.shape != x.shape or not np.allclose(xv, x):
                raise RuntimeError("TubeWallContact: scalar and vector dof layouts differ")
        self.contents, self.tube = contents, tube

    # -- profiles (same on every rank) -----------------------------------------------------------
    def _gather_sorted(self, z, val, comm):
        parts = comm.allgather((z, val))
        z = np.concatenate([p[0] for p in parts])
        val = np.concatenate([p[1] for p in parts])
        order = np.argsort(z, kind="stable")
        return z[order], val[order]

    def wall_profile(self):
        """(z, r_w) of the deformed bore, sorted by z, on every rank."""
        u = self.tube.u.x.array.reshape(-1, 2)[self.t_owned]
        x = self.xt[self.t_owned]
        return self._gather_sorted(x[:, 1] + u[:, 1], x[:, 0] + u[:, 0], self.ttm.comm)

    def pressure_profile(self, values=None):
        """(z, p) of the contact pressure (or of ``values`` at the wall dofs) along the deformed
        contents boundary, on every rank.

        The contents' small-strain virtual work counts the pressure per *reference* length dZ, the
        tube receives it along the deformed length dz of the contents (the pellet shortens by
        ~30 %): p_tube = p dZ/dz, so the two bodies exchange equal and opposite forces."""
        u = self.contents.u.x.array.reshape(-1, 2)[self.c_owned]
        x = self.xc[self.c_owned]
        own = np.isin(self.c_dofs, self.c_owned)
        vals = (self.p_c if values is None else values)[own]
        Z, p = self._gather_sorted(x[:, 1], np.column_stack([x[:, 1] + u[:, 1], vals]), self.ctm.comm)
        if len(Z) < 2:
            return Z, p[:, 1] if len(p) else p
        stretch = np.gradient(p[:, 0], Z)  # dz/dZ along the boundary
        return p[:, 0], p[:, 1] / np.maximum(stretch, 1e-3)

    def gap_profile(self):
        """(z, gap = r_w - r_contents) at the contents' wall dofs inside the tube height (owned)."""
        zw, rw = self.wall_profile()
        u = self.contents.u.x.array.reshape(-1, 2)[self.c_owned]
        x = self.xc[self.c_owned]
        z = x[:, 1] + u[:, 1]
        inside = (z >= zw[0]) & (z <= zw[-1])
        return z[inside], (np.interp(z, zw, rw) - x[:, 0] - u[:, 0])[inside], x[inside, 1]

    def _update_gap(self):
        zw, rw = self.wall_profile()
        u = self.contents.u.x.array.reshape(-1, 2)[self.c_dofs]
        x = self.xc[self.c_dofs]
        z = x[:, 1] + u[:, 1]
        # beyond the tube's ends the bore opens at 45 degrees (a chamfered edge): a gap that jumps
        # to "no wall" would make the P2 gap field overshoot into spurious contact at the ends
        rwall = np.interp(z, zw, rw) + np.maximum(zw[0] - z, 0.0) + np.maximum(z - zw[-1], 0.0)
        self.gap.x.array[self.c_dofs] = rwall - x[:, 0] - self.p_c / self.k_t
        if self.friction > 0:  # the bore's own axial motion over the increment, at the contact point
            ut = self.tube.u.x.array.reshape(-1, 2)[self.t_owned]
            dz = ut[:, 1] - self.tube.u_old.x.array.reshape(-1, 2)[self.t_owned, 1]
            zt, dzt = self._gather_sorted(self.xt[self.t_owned, 1] + ut[:, 1], dz, self.ttm.comm)
            u_old = self.contents.u_old.x.array.reshape(-1, 2)[self.c_dofs, 1]
            self.slip_ref.x.array[self.c_dofs] = u_old + np.interp(z, zt, dzt)
            # traction on the contents = -q_c; Robin-weighted mean of the accepted and the current one
            self.q_base.x.array[self.c_dofs] = -(self.k_t * self.q_c_old + self.k_f * self.q_c) / (self.k_t + self.k_f)

    def _contents_shear(self, p):
        """Friction traction on the bore (-q of :meth:`friction_traction`) at the contents' wall dofs."""
        if self.friction == 0:
            return np.zeros_like(p)
        slip = self.contents.u.x.array.reshape(-1, 2)[self.c_dofs, 1] - self.slip_ref.x.array[self.c_dofs]
        trial = self.q_base.x.array[self.c_dofs] - self.k_fs * slip
        return -np.clip(trial, -self.friction * p, self.friction * p)

    def _contents_pressure(self):
        u = self.contents.u.x.array.reshape(-1, 2)[self.c_dofs]
        return self.k_s * np.maximum(u[:, 0] - self.gap.x.array[self.c_dofs], 0.0)

    def _load_tube(self):
        zc, pc = self.pressure_profile()
        u = self.tube.u.x.array.reshape(-1, 2)[self.t_dofs]
        zt = self.xt[self.t_dofs, 1] + u[:, 1]
        self.wall_pressure.x.array[self.t_dofs] = np.interp(zt, zc, pc, left=0.0, right=0.0) if len(zc) else 0.0
        # The pointwise map of the profile is not conservative where the pellet's pressure band
        # spans only a few cells (it lost up to 10 % of the force on unloading): rescale it so the
        # tube receives exactly the radial force the contents' nodal pressure carries.
        self._transfer.x.array[self.c_dofs] = self.p_c
        f_c, f_t = self._force_c(), self._force_t()
        if f_t > 0.0:
            self.wall_pressure.x.array[self.t_dofs] *= f_c / f_t
        if self.friction > 0:
            zc, qc = self.pressure_profile(self.q_c)
            self.wall_shear.x.array[self.t_dofs] = np.interp(zt, zc, qc, left=0.0, right=0.0) if len(zc) else 0.0

    # -- one load increment ----------------------------------------------------------------------
    def _norm(self, a, owned_mask):
        return math.sqrt(self.ctm.comm.allreduce(float(np.dot(a[owned_mask], a[owned_mask])), op=MPI.SUM))

    def solve(self) -> int:
        """Staggered tube/contents solves to a consistent wall; returns the number of staggered
        iterations. The fixed-point variable is the contact pressure x at the contents' wall dofs:
        tube loaded by x -> wall r_w -> contents against the Robin wall -> p = F(x); x is updated
        with Aitken's dynamic relaxation (Kuettler & Wall 2008). Converged when the RMS changes of
        x and of the wall are below ``rtol`` of their size. Raises PlasticityDivergedError (both
        bodies restored) on failure."""
        own = self.c_dofs < self.contents.V.dofmap.index_map.size_local
        t_comm = self.ttm.comm
        newton = 0
        omega, r_prev = 1.0, None
        dw = dp = float("nan")
        try:
            for k in range(1, self.max_iterations + 1):
                w_old = self.tube.u.x.array.reshape(-1, 2)[self.t_owned, 0].copy()
                self._load_tube()
                newton += self.tube.step(accept=False)
                w_new = self.tube.u.x.array.reshape(-1, 2)[self.t_owned, 0]
                dw = math.sqrt(t_comm.allreduce(float(np.sum((w_new - w_old) ** 2)), op=MPI.SUM))
                wn = math.sqrt(t_comm.allreduce(float(np.sum(w_new**2)), op=MPI.SUM))
                self._update_gap()
                newton += self.contents.step(accept=False)
                p_new = self._contents_pressure()
                # fixed-point variable: pressure and (with friction) friction traction, relaxed together
                x = np.concatenate([self.p_c, self.q_c]) if self.friction > 0 else self.p_c
                r = (np.concatenate([p_new, self._contents_shear(p_new)]) if self.friction > 0 else p_new) - x
                own2 = np.concatenate([own, own]) if self.friction > 0 else own
                dp, pn = self._norm(r, own2), self._norm(x + r, own2)
                log.debug("stagger %d: |dw| %.3e m (of %.3e), |dp| %.3e Pa (of %.3e), omega %.3f",
                          k, dw, wn, dp, pn, omega)
                if dw <= self.rtol * max(wn, 1e-6) and dp <= self.rtol * max(pn, 1e5):
                    self._set_fixed_point(x + r)
                    self.last_newton = newton
                    return k
                if r_prev is not None:
                    dr = r - r_prev
                    den = self.ctm.comm.allreduce(float(np.dot(dr[own2], dr[own2])), op=MPI.SUM)
                    if den > 0:
                        num = self.ctm.comm.allreduce(float(np.dot(r_prev[own2], dr[own2])), op=MPI.SUM)
                        omega = float(np.clip(-omega * num / den, 0.05, self.max_relaxation))
                self._set_fixed_point(x + omega * r)
                r_prev = r
        except PlasticityDivergedError:
            self.reject()
            raise
        self.reject()
        raise PlasticityDivergedError(f"tube/contents stagger did not converge in {self.max_iterations} "
                                      f"iterations (RMS wall change {dw:.3e} m, pressure change {dp:.3e} Pa)")

    def _set_fixed_point(self, x):
        n = len(self.p_c)
        self.p_c = np.maximum(x[:n], 0.0)
        if self.friction > 0:
            self.q_c = np.clip(x[n:], -self.friction * self.p_c, self.friction * self.p_c)

    def accept(self):
        self.contents.accept()
        self.tube.accept()
        self.p_c_old = self.p_c.copy()
        self.q_c_old = self.q_c.copy()
        self.pressure_field.x.array[self.c_dofs] = self.p_c
        self.friction_field.x.array[self.c_dofs] = self.q_c

    def restore_pressure(self):
        """After a restart filled :attr:`pressure_field`: the accepted contact pressure and the
        tube's load (so the first stagger starts from the converged state, not from an unloaded wall)."""
        self.p_c = self.pressure_field.x.array[self.c_dofs].copy()
        self.p_c_old = self.p_c.copy()
        self.q_c = self.friction_field.x.array[self.c_dofs].copy()
        self.q_c_old = self.q_c.copy()
        self._load_tube()

    def release_friction(self, facets):
        """Zero the accepted friction traction at the wall dofs of ``facets`` (a layer placed stress
        free into the cell carries no wall shear yet)."""
        fdim = self.ctm.mesh.topology.dim - 1
        dofs = fem.locate_dofs_topological(self.gap.function_space, fdim,
                                           np.concatenate([self.ctm.facets(f) for f in facets]))
        mask = np.isin(self.c_dofs, dofs)
        self.q_c[mask] = self.q_c_old[mask] = 0.0
        self.friction_field.x.array[self.c_dofs] = self.q_c
        self._load_tube()

    def reject(self):
        self.contents.reject()
        self.tube.reject()
        self.p_c = self.p_c_old.copy()
        self.q_c = self.q_c_old.copy()
        self._load_tube()

    def contact_force(self) -> float:
        """Radial force (N) the wall exerts on the contents (same on every rank)."""
        return integrate(self.ctm, self.k_s * ufl.max_value(self.contents.u[0] - self.gap, 0.0),
                         facets=self.obstacle.facets)

    def friction_force(self) -> float:
        """Axial force (N, > 0 upward) the wall's friction exerts on the contents (0 without friction)."""
        if self.friction == 0:
            return 0.0
        return integrate(self.ctm, self.friction_traction(self.contents.u), facets=self.obstacle.facets)

    def wall_force(self) -> float:
        """Radial force (N) the contents exert on the tube bore."""
        return integrate(self.ttm, self.wall_pressure, facets=self.tube_facets)


# ------------------------------------------------------------------------------------------------
# The cell model: meshes, laws, solids per step
# ------------------------------------------------------------------------------------------------

def _with_plating_layer(tm: TaggedMesh, z_interface: float, thickness: float) -> tuple[TaggedMesh, int]:
    """The contents mesh with the Li cells next to the Li/SE interface moved to a cell group
    ``li_plating``: cells whose centroid lies within ``thickness`` of the interface, or (if the
    mesh is coarser) the Li cells touching it. Returns the mesh and the global cell count."""
    msh = tm.mesh
    tdim = msh.topology.dim
    li = tm.cells("li")
    mid = dmesh.compute_midpoints(msh, tdim, li)
    pick = li[mid[:, 1] >= z_interface - thickness]
    n_owned = msh.topology.index_map(tdim).size_local
    if tm.comm.allreduce(int(np.sum(pick < n_owned)), op=MPI.SUM) == 0:
        zg = msh.geometry.x[:, 1]
        geo = msh.geometry.dofmap
        pick = np.array([c for c in li if np.any(np.abs(zg[geo[c]] - z_interface) < 1e-9)], dtype=np.int32)
    values = tm.cell_tags.values.copy()
    tag = max(tm.cell_groups.values()) + 1
    pos = np.searchsorted(tm.cell_tags.indices, pick)
    values[pos] = tag
    ct = dmesh.meshtags(msh, tdim, tm.cell_tags.indices, values)
    ct.name = "cells"
    groups = {**tm.cell_groups, "li_plating": tag}
    count = tm.comm.allreduce(int(np.sum(pick < n_owned)), op=MPI.SUM)
    return dataclasses.replace(tm, cell_tags=ct, cell_groups=groups), count


class CellModel:
    """Meshes, laws and the two solids of one step."""

    def __init__(self, cfg: Config, comm: MPI.Comm):
        self.cfg, self.comm = cfg, comm
        self.dims = dims = cfg.dimensions()
        meshing = cell_meshing(cfg.mesh)
        contents = build_cell(comm, dims, meshing, kind=AXISYMMETRIC, parts="stack")
        self.tube_tm = build_cell(comm, dims, meshing, kind=AXISYMMETRIC, parts="tube")
        self.zr = dims.z_ranges()
        self.tm, self.n_plating = _with_plating_layer(contents, self.zr["li"][1], cfg.plating_layer)
        mats = cfg.materials.by_body()
        self.mats = mats
        self.steel = LinearElastic(mats["rod_bottom"].youngs_modulus, mats["rod_bottom"].poisson_ratio)
        se = mats["se"]
        self.powder = PowderCompaction.calibrated(cfg.se_pressed_density, cfg.densify_pressure,
                                                  dense_youngs_modulus=se.youngs_modulus,
                                                  poisson_ratio=se.poisson_ratio,
                                                  initial_density=cfg.se_initial_density)
        pt = mats["ptfe"]
        pt.require("youngs_modulus", "poisson_ratio", "yield_strength")
        self.ptfe = J2Material(pt.youngs_modulus, pt.poisson_ratio, pt.yield_strength, cfg.ptfe_hardening)
        li = mats["li"]
        creep = creep_law_for(li.name, yield_stress=li.yield_strength, where="materials.li")
        self.li = ViscoplasticLi(li.youngs_modulus, li.poisson_ratio, creep)
        self.li_plating = ViscoplasticLi(li.youngs_modulus, li.poisson_ratio, creep)
        cat = mats["cathode"]
        self.cathode = LinearElastic(cat.youngs_modulus, cat.poisson_ratio)
        self.area = math.pi * dims.tube_inner_radius**2
        self.wall_facets = [f"{b}_outer" for b in dims.bodies()]
        self.k_t = cfg.wall_stiffness_factor * lame_wall_stiffness(
            pt.youngs_modulus, pt.poisson_ratio, dims.tube_inner_radius, dims.tube_outer_radius)

    def build(self, step: str):
        """Coupling and solids for ``step``; the frame: pressure on the top rod (densify,
        assemble) or the top rod end fixed at ``self.top_position`` (charge)."""
        cfg = self.cfg
        self.coupling = c = TubeWallContact(self.tm, self.tube_tm, self.wall_facets, ["ptfe_inner"], self.k_t,
                                            cfg.penalty / cfg.wall_stiffness_factor, cfg.degree,
                                            cfg.stagger_rtol, cfg.max_stagger, cfg.wall_friction,
                                            cfg.friction_stiffness * cfg.penalty / cfg.wall_stiffness_factor * self.k_t)
        placed = step != "densify"
        laws = {"rod_bottom": self.steel, "rod_top": self.steel, "se": self.powder,
                "li": self.li if placed else self.steel, "li_plating": self.li_plating if placed else self.steel,
                "cathode": self.cathode if placed else self.steel}
        self.load = fem.Constant(self.tm.mesh, 0.0)
        self.top_position = fem.Constant(self.tm.mesh, 0.0)
        fixed = [FixedComponent(("axis",), 0), FixedComponent(("rod_bottom_bottom",), 1)]
        pressures = []
        if step == "charge":
            fixed.append(FixedComponent(("rod_top_top",), 1, self.top_position))
        else:
            pressures.append(NormalPressure(("rod_top_top",), self.load))
        self.contents = ElastoplasticSolid(self.tm, laws, fixed=fixed, pressures=pressures, degree=cfg.degree,
                                           max_it=cfg.newton_max_it, prefix=f"ca_{step}_contents_", atol=1e-6,
                                           extra_residual=c.residual, line_search=cfg.wall_friction > 0)
        self.tube = ElastoplasticSolid(self.tube_tm, {"ptfe": self.ptfe},
                                       fixed=[FixedComponent(("ptfe_bottom",), 1)],
                                       pressures=[NormalPressure(("ptfe_inner",), c.wall_pressure)],
                                       degree=cfg.degree, max_it=cfg.newton_max_it, prefix=f"ca_{step}_tube_",
                                       atol=1e-6, extra_residual=c.tube_residual if cfg.wall_friction > 0 else None,
                                       line_search=cfg.wall_friction > 0)
        c.bind(self.contents, self.tube)
        Vc = self.contents.V
        self._internal_force = fem.form(self.contents._residual)
        self._V = Vc

    # -- state transfer and checkpoints ----------------------------------------------------------
    def fields(self) -> dict[str, fem.Function]:
        out = {f"contents_{k}": f for k, f in self.contents.checkpoint_fields().items()}
        out.update({f"tube_{k}": f for k, f in self.tube.checkpoint_fields().items()})
        out["contact_pressure"] = self.coupling.pressure_field
        if self.cfg.wall_friction > 0:
            out["wall_friction"] = self.coupling.friction_field
        return out

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {k: f.x.array.copy() for k, f in self.fields().items()}

    def set_state(self, arrays: dict[str, np.ndarray]):
        """Accepted state from :meth:`state_arrays` of the previous step's solids (same meshes)."""
        for k, f in self.fields().items():
            f.x.array[:] = arrays[k]
        self._restored()

    def load_file(self, path: Path) -> dict:
        fields = self.fields()
        with np.load(path) as d:  # a frictionless checkpoint has no friction history: start from zero
            if "wall_friction__cells" not in d.files:
                fields.pop("wall_friction", None)
        meta = load_checkpoint(path, fields)
        self._restored()
        return meta

    def _restored(self):
        self.contents.restore_checkpoint_fields()
        self.tube.restore_checkpoint_fields()
        self.coupling.restore_pressure()

    def save(self, path: Path, meta: dict) -> str:
        save_checkpoint(path, self.fields(), meta)
        return str(path)

    # -- measurements (same value on every rank) -------------------------------------------------
    def reaction_pressure(self) -> float:
        """Axial force on the bottom rod's end / bore area (Pa, > 0 in compression)."""
        f = residual_on_facets(self.tm, self._internal_force, self._V, self._V.sub(1), ["rod_bottom_bottom"])
        return f / self.area

    def pellet_half_density(self, top: bool) -> float:
        """Mean relative density of the upper (pressed, ``top``) or lower half of the pellet (reference heights)."""
        z = ufl.SpatialCoordinate(self.tm.mesh)[1]
        zmid = 0.5 * sum(self.zr["se"])
        half = ufl.conditional(ufl.gt(z, zmid) if top else ufl.le(z, zmid), 1.0, 0.0)
        return self.contents.average(half * self.contents.density_q, ["se"]) / self.contents.average(half, ["se"])

    def li_gap_volume(self) -> float:
        """Li volume (m^3) beyond the bore radius: 2 pi R int <u_r>_+ dz over the foil's outer face."""
        return integrate(self.tm, ufl.max_value(self.contents.u[0], 0.0), facets=["li_outer"])

    def face_mean(self, facets, comp: int) -> float:
        """Area-weighted (2 pi r) mean displacement component over a flat face (exterior or interface)."""
        a = self.interface_profile(facets)
        return float(np.trapezoid(a[:, 0] * a[:, 2 + comp], a[:, 0]) / np.trapezoid(a[:, 0], a[:, 0]))

    def wall_bulge(self):
        """(z, u_r) of the tube bore (sorted, every rank)."""
        u = self.tube.u.x.array.reshape(-1, 2)[self.coupling.t_owned]
        x = self.coupling.xt[self.coupling.t_owned]
        return self.coupling._gather_sorted(x[:, 1], u[:, 0], self.comm)

    def interface_profile(self, facets):
        """Rows (r, z + u_z, u_r, u_z) at the nodes of facet groups, sorted by r, every rank."""
        V = self.contents.V
        dofs = fem.locate_dofs_topological(V, 1, np.concatenate([self.tm.facets(f) for f in facets]))
        dofs = dofs[dofs < V.dofmap.index_map.size_local]
        x = self.coupling.xc[dofs]
        u = self.contents.u.x.array.reshape(-1, 2)[dofs]
        parts = self.comm.allgather(np.column_stack([x[:, 0], x[:, 1] + u[:, 1], u[:, 0], u[:, 1]]))
        a = np.concatenate(parts)
        return a[np.argsort(a[:, 0], kind="stable")]


# ------------------------------------------------------------------------------------------------
# The three steps
# ------------------------------------------------------------------------------------------------

class _Stepper:
    """advance/accept/reject/checkpoint of :func:`run_adaptive` for one step of the model."""

    def __init__(self, model: CellModel, out: ResultDir, name: str, set_time, record):
        self.model, self.out, self.name = model, out, name
        self.set_time, self.record = set_time, record
        self.its = 0
        self.stats = {"increments": 0, "stagger": [], "newton": [], "wall_s": []}

    def advance(self, t, dt):
        t0 = time.perf_counter()
        self.set_time(t + dt, dt)
        try:
            k = self.model.coupling.solve()
        except PlasticityDivergedError as e:
            log.info("%s: increment to t = %.4g failed (%s)", self.name, t + dt, e)
            return False
        self.its = self.model.coupling.last_newton // max(k, 1)
        self.stats["stagger"].append(k)
        self.stats["newton"].append(self.model.coupling.last_newton)
        self.stats["wall_s"].append(time.perf_counter() - t0)
        return True

    def accept(self, t):
        self.model.coupling.accept()
        self.stats["increments"] += 1
        self.record(t)

    def reject(self):
        self.model.coupling.reject()

    def checkpoint(self, t):
        self.model.save(self.out.file(f"{self.name}_failed.npz"), {"step": self.name, "t": t, "failed": True})
        return f"{self.name}_failed.npz in the case folder"

    def run(self, t0, t1, n):
        cfg = self.model.cfg
        dt = (t1 - t0) / n
        control = StepControl(dt, dt * 0.5 ** cfg.max_cutbacks * 0.999, dt, grow=2.0, max_cutbacks=cfg.max_cutbacks,
                              easy_iterations=10**6)
        return run_adaptive(t0, t1, control, self.advance, self.accept, self.reject, self.checkpoint,
                            iterations=lambda: self.its)


def _write_fields(model: CellModel, out: ResultDir, name: str, t: float):
    tm, c, tb = model.tm, model.contents, model.tube
    V0 = fem.functionspace(tm.mesh, ("DG", 0))
    body = fem.Function(V0, name="body")
    for b, tag in tm.cell_groups.items():
        body.x.array[tm.cells(b)] = tag
    with FieldWriter(model.comm, out.file(f"fields_{name}_contents"), [c.u, c.density, body]) as w:
        w.write(t)
    W0 = fem.functionspace(model.tube_tm.mesh, ("DG", 0))
    ep = fem.Function(W0, name="plastic_strain")
    w = tb._qweights / tb._qweights.sum()
    ep.x.array[:] = tb.p.x.array.reshape(-1, len(w)) @ w  # cell averages of the quadrature values
    with FieldWriter(model.comm, out.file(f"fields_{name}_tube"), [tb.u, ep]) as w:
        w.write(t)


def _densify(model: CellModel, out: ResultDir, res: dict, timings: dict):
    cfg = model.cfg
    series = TimeSeries(model.comm, out.file("densify.csv"))
    P = cfg.densify_pressure

    def set_time(t, dt):  # pseudo time: 0-1 ramp, 1-2 unload
        model.load.value = P * (t if t <= 1 + 1e-12 else 2 - t)

    def record(t):
        zw, bulge = model.wall_bulge()
        series.append(t=t, pressure_Pa=float(model.load.value), mean_density=model.contents.mean_density(["se"]),
                      max_bulge_m=float(bulge.max()), stagger=st.stats["stagger"][-1] if st.stats["stagger"] else 0,
                      newton=st.stats["newton"][-1] if st.stats["newton"] else 0,
                      wall_force_N=model.coupling.wall_force(), contact_force_N=model.coupling.contact_force(),
                      reaction_Pa=model.reaction_pressure(), friction_force_N=model.coupling.friction_force())
        series.flush()

    st = _Stepper(model, out, "densify", set_time, record)
    st.run(0.0, 1.0, cfg.load_increments)
    # the hold: PTFE and powder are rate independent here, so 10 min at 300 MPa change nothing
    peak = {"density": model.contents.mean_density(["se"]), "bulge": model.wall_bulge(),
            "reaction": model.reaction_pressure(), "friction": model.coupling.friction_force()}
    rho_peak = model.contents.density.x.array.copy()
    st.run(1.0, 2.0, cfg.unload_increments)
    zb, bulge_res = model.wall_bulge()
    z, gap, zref = model.coupling.gap_profile()
    parts = model.comm.allgather(np.column_stack([zref, z, gap]))
    g = np.concatenate(parts)
    g = g[np.argsort(g[:, 0])]
    zl0, zl1 = model.zr["li"]
    at_li = g[(g[:, 0] >= zl0) & (g[:, 0] <= zl1), 2]
    se_top = model.face_mean(["se_cathode_interface"], 1)
    se_bot = model.face_mean(["li_se_interface"], 1)
    rows = [{"z_m": float(zz), "bulge_peak_m": float(bp), "bulge_residual_m": float(br)}
            for zz, bp, br in zip(zb, np.interp(zb, *peak["bulge"]), bulge_res, strict=True)]
    if model.comm.rank == 0:
        write_csv_atomic(out.file("tube_wall.csv"), rows)
        write_csv_atomic(out.file("residual_gap.csv"), [{"z_ref_m": float(a), "z_m": float(b), "gap_m": float(c)}
                                                       for a, b, c in g])
    res.update({
        "densify_mean_density_at_peak": peak["density"],
        "densify_mean_density_unloaded": model.contents.mean_density(["se"]),
        "densify_density_top_half": model.pellet_half_density(top=True),
        "densify_density_bottom_half": model.pellet_half_density(top=False),
        "densify_reaction_at_peak_Pa": peak["reaction"],
        "densify_residual_reaction_Pa": model.reaction_pressure(),
        "densify_friction_force_at_peak_N": peak["friction"],
        "densify_residual_friction_force_N": model.coupling.friction_force(),
        "densify_density_min": model.comm.allreduce(
            float(model.contents.density.x.array[model.tm.cells("se")].min(initial=np.inf)), op=MPI.MIN),
        "densify_density_max": model.comm.allreduce(
            float(model.contents.density.x.array[model.tm.cells("se")].max(initial=0.0)), op=MPI.MAX),
        "densify_max_bulge_at_peak_m": float(peak["bulge"][1].max()),
        "densify_max_residual_bulge_m": float(bulge_res.max()),
        "densify_ptfe_max_plastic_strain": model.comm.allreduce(float(model.tube.p.x.array.max(initial=0.0)),
                                                                op=MPI.MAX),
        "densify_max_residual_gap_m": float(g[:, 2].max()) if len(g) else 0.0,
        "densify_residual_gap_at_li_m": float(at_li.max()) if len(at_li) else 0.0,
        "densify_pellet_thickness_m": model.dims.se_thickness + se_top - se_bot,
        "densify_increments": st.stats["increments"],
        "densify_stagger_per_increment": float(np.mean(st.stats["stagger"])),
        "densify_newton_per_increment": float(np.mean(st.stats["newton"])),
        "densify_time_per_increment_s": float(np.mean(st.stats["wall_s"])),
    })
    timings["densify_stats"] = st.stats
    _write_fields(model, out, "densify", 2.0)
    if cfg.figure:
        _figure_densify(model, out, peak["bulge"], (zb, bulge_res), g, rho_peak)
    model.save(out.file("densify.npz"), {"step": "densify", "results": res})


def _assemble(model: CellModel, out: ResultDir, res: dict, timings: dict):
    cfg = model.cfg
    series = TimeSeries(model.comm, out.file("assemble.csv"))
    ramp = 2  # increments to reach the stack pressure (10 s each, assumed loading rate)
    t_ramp = 20.0

    def set_time(t, dt):
        model.load.value = cfg.stack_pressure * min(t / t_ramp, 1.0)
        model.li.time_step = model.li_plating.time_step = dt

    def record(t):
        series.append(t_s=t, pressure_Pa=float(model.load.value), li_gap_volume_m3=model.li_gap_volume(),
                      reaction_Pa=model.reaction_pressure())
        series.flush()

    st = _Stepper(model, out, "assemble", set_time, record)
    st.run(0.0, t_ramp, ramp)
    v_ramp = model.li_gap_volume()
    st.run(t_ramp, t_ramp + cfg.assemble_hold, cfg.hold_steps)
    res.update({
        "assemble_li_gap_volume_after_ramp_m3": v_ramp,
        "assemble_li_gap_volume_m3": model.li_gap_volume(),
        "assemble_li_gap_volume_mm3": model.li_gap_volume() * 1e9,
        "assemble_reaction_pressure_Pa": model.reaction_pressure(),
        "assemble_increments": st.stats["increments"],
        "assemble_stagger_per_increment": float(np.mean(st.stats["stagger"])),
    })
    timings["assemble_stats"] = st.stats
    _write_fields(model, out, "assemble", t_ramp + cfg.assemble_hold)
    model.save(out.file("assemble.npz"), {"step": "assemble", "results": res})


def _charge(model: CellModel, out: ResultDir, res: dict, timings: dict):
    cfg = model.cfg
    series = TimeSeries(model.comm, out.file("charge.csv"))
    model.mats["li"].require("molar_volume")
    omega = model.mats["li"].molar_volume
    layer = integrate(model.tm, fem.Constant(model.tm.mesh, 1.0), cells=["li_plating"]) / model.area
    rate = cfg.current_density * omega / FARADAY / layer  # axial growth strain rate of the layer, 1/s
    model.li_plating.eigenstrain_rate = np.array([0.0, rate, 0.0, 0.0])
    model.top_position.value = model.face_mean(["rod_top_top"], 1)
    top0 = model.interface_profile(["li_se_interface"])
    bot0 = model.interface_profile(["rod_bottom_li_interface"])
    edge0 = model.interface_profile(["li_outer"])
    p0, v0 = model.reaction_pressure(), model.li_gap_volume()
    series.append(t_s=0.0, capacity_mAh_cm2=0.0, plated_m=0.0, reaction_Pa=p0, li_gap_volume_m3=v0)

    def set_time(t, dt):
        model.li.time_step = model.li_plating.time_step = dt

    def record(t):
        series.append(t_s=t, capacity_mAh_cm2=cfg.current_density * t / 36000.0,
                      plated_m=plated_thickness(cfg.current_density * t, omega),
                      reaction_Pa=model.reaction_pressure(), li_gap_volume_m3=model.li_gap_volume())
        series.flush()

    st = _Stepper(model, out, "charge", set_time, record)
    st.run(0.0, cfg.charge_time, cfg.charge_steps)
    top1 = model.interface_profile(["li_se_interface"])
    bot1 = model.interface_profile(["rod_bottom_li_interface"])
    edge1 = model.interface_profile(["li_outer"])
    h_pl = plated_thickness(cfg.current_density * cfg.charge_time, omega)
    r = np.linspace(0, model.dims.tube_inner_radius, 41)

    def thickness(top, bot):
        return np.interp(r, top[:, 0], top[:, 1]) - np.interp(r, bot[:, 0], bot[:, 1])

    t_before, t_after = thickness(top0, bot0), thickness(top1, bot1)
    change = t_after - t_before - h_pl  # foil (original Li) thickness change, plated layer removed
    if model.comm.rank == 0:
        write_csv_atomic(out.file("li_outline.csv"), [
            {"r_m": float(a), "thickness_before_m": float(b), "thickness_after_m": float(c),
             "foil_change_m": float(d), "top_before_m": float(e), "top_after_m": float(f)}
            for a, b, c, d, e, f in zip(r, t_before, t_after, change, np.interp(r, top0[:, 0], top0[:, 1]),
                                        np.interp(r, top1[:, 0], top1[:, 1]), strict=True)])
    p1, v1 = model.reaction_pressure(), model.li_gap_volume()
    res.update({
        "charge_plated_thickness_m": h_pl,
        "charge_plating_layer_m": layer,
        "charge_plating_cells": model.n_plating,
        "charge_reaction_pressure_start_Pa": p0,
        "charge_reaction_pressure_end_Pa": p1,
        "charge_li_gap_volume_start_m3": v0,
        "charge_li_gap_volume_end_m3": v1,
        "charge_foil_change_centre_m": float(change[0]),
        "charge_foil_change_edge_m": float(change[-1]),
        "charge_increments": st.stats["increments"],
        "charge_stagger_per_increment": float(np.mean(st.stats["stagger"])),
    })
    timings["charge_stats"] = st.stats
    _write_fields(model, out, "charge", cfg.charge_time)
    if cfg.figure and model.comm.rank == 0:
        _figure_charge(out, series.rows, r, t_before, t_after, (top0, top1, bot0, bot1, edge0, edge1))
    model.save(out.file("charge.npz"), {"step": "charge", "results": res})


# ------------------------------------------------------------------------------------------------
# Figures (matplotlib, off-screen; rank 0 only, data already gathered)
# ------------------------------------------------------------------------------------------------

def _figure_densify(model, out, peak, residual, gap, rho_peak):
    from ssbx.fem.figures import gather_cells, plot_deformed

    rho = fem.Function(model.contents.density.function_space)  # the pellet only (rods/layers: nan)
    rho.x.array[:] = np.nan
    se = model.tm.cells("se")
    rho.x.array[se] = model.contents.density.x.array[se]
    data = gather_cells(model.contents.u, rho, model.tm.mesh)
    if model.comm.rank != 0:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plot_deformed(data, out.file("density.png"), "cell_assembly: relative density after densification",
                  "relative density", scale=1.0, mirror=True)
    fig, ax = plt.subplots(1, 2, figsize=(9, 4))
    ax[0].plot(peak[1] * 1e6, peak[0] * 1e3, label="at peak load")
    ax[0].plot(residual[1] * 1e6, residual[0] * 1e3, label="after unloading")
    ax[0].set_xlabel("tube bore bulge u_r (um)")
    ax[0].set_ylabel("z (mm)")
    ax[0].legend()
    ax[1].plot(gap[:, 2] * 1e6, gap[:, 0] * 1e3, ".-")
    ax[1].set_xlabel("residual gap tube - contents (um)")
    ax[1].set_ylabel("z of the contents (mm)")
    for z in model.zr["li"]:
        ax[1].axhline(z * 1e3, color="grey", lw=0.5)
    fig.tight_layout()
    fig.savefig(out.file("tube_wall.png"), dpi=120)
    plt.close(fig)


def _figure_charge(out, rows, r, t_before, t_after, outline):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.array([row["t_s"] for row in rows]) / 3600
    fig, ax = plt.subplots(1, 2, figsize=(9, 4))
    ax[0].plot(t, [row["reaction_Pa"] / 1e6 for row in rows], "o-")
    ax[0].set_xlabel("charge time (h)")
    ax[0].set_ylabel("rod reaction / bore area (MPa)")
    ax2 = ax[0].twinx()
    ax2.plot(t, [row["li_gap_volume_m3"] * 1e9 for row in rows], "s--", color="C1")
    ax2.set_ylabel("Li volume in the gap (mm^3)", color="C1")
    ax[1].plot(r * 1e3, t_before * 1e6, label="before charge")
    ax[1].plot(r * 1e3, t_after * 1e6, label="after charge")
    ax[1].set_xlabel("r (mm)")
    ax[1].set_ylabel("Li thickness incl. plated (um)")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(out.file("charge.png"), dpi=120)
    plt.close(fig)
    top0, top1, bot0, bot1, edge0, edge1 = outline
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    for prof, style, lab in ((top0, "C0-", "Li/SE face, before"), (top1, "C1-", "Li/SE face, after"),
                             (bot0, "C0--", "Li/rod face, before"), (bot1, "C1--", "Li/rod face, after")):
        ax[0].plot(prof[:, 0] * 1e3, prof[:, 3] * 1e6, style, label=lab)
    ax[0].set_xlabel("r (mm)")
    ax[0].set_ylabel("axial displacement u_z (um)")
    ax[0].legend(fontsize=7)
    for prof, style, lab in ((edge0, "C0.-", "before charge"), (edge1, "C1.-", "after charge")):
        o = np.argsort(prof[:, 1])
        ax[1].plot(prof[o, 2] * 1e6, prof[o, 1] * 1e6, style, label=lab)
    ax[1].set_xlabel("Li edge radial displacement into the gap u_r (um)")
    ax[1].set_ylabel("z (um)")
    ax[1].legend(fontsize=7)
    fig.suptitle("Li foil outline before/after charge")
    fig.tight_layout()
    fig.savefig(out.file("li_outline.png"), dpi=120)
    plt.close(fig)


# ------------------------------------------------------------------------------------------------

def run(cfg: Config, comm: MPI.Comm, out: ResultDir) -> dict:

    model = CellModel(cfg, comm)
    res: dict = {}
    timings: dict = {}
    state = None
    for step in cfg.steps:
        t0 = time.perf_counter()
        model.build(step)
        if state is not None:
            model.set_state(state)
        elif step != "densify":
            meta = model.load_file(Path(cfg.restart_from))
            log.info("restarted %s from %s (after step %s)", step, cfg.restart_from, meta.get("step"))
        if step == "assemble":  # the layers enter the cell stress free where the rod extensions were
            model.contents.replace_law("li", model.li)
            model.contents.replace_law("li_plating", model.li_plating)
            model.contents.replace_law("cathode", model.cathode)
            model.coupling.release_friction(["li_outer", "cathode_outer"])
        try:
            {"densify": _densify, "assemble": _assemble, "charge": _charge}[step](model, out, res, timings)
        except SolveDivergedError as e:
            raise SolveDivergedError(f"cell_assembly step '{step}': {e}") from None
        state = model.state_arrays()
        res["contents_dofs"] = model.contents.V.dofmap.index_map.size_global * 2
        res["tube_dofs"] = model.tube.V.dofmap.index_map.size_global * 2
        out.timings[step] = time.perf_counter() - t0
        log.info("cell_assembly: step %s done in %.1f s", step, out.timings[step])
    out.manifest["step_statistics"] = timings
    return res
