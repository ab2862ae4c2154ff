"""# Study `cell_elastic`: the assembled cell under stack pressure, linear elastic

What is simulated: the experimental cell (PTFE tube, two SS316 rods, Li foil, argyrodite pellet,
cathode composite; DESIGN.md section 1), axisymmetric, after assembly, held at the stack pressure
p by the frame: the bottom rod rests on the frame (u_z = 0 on its lower end) and the top rod's
upper end carries p. The tube rests on the base plate (u_z = 0 on its lower end) and touches the
stack along the bore with a frictionless wall: normal displacements are tied, the stack slides
freely along the tube.

Equations: small-strain isotropic elasticity, div(sigma) = 0 in (r, z), sigma = lambda tr(eps) I
+ 2 mu eps with eps_theta = u_r/r (ssbx.fem.kinematics), one displacement field per part (tube,
stack) coupled by a normal-jump penalty on the bore (ssbx.fem.elasticity).

Limits checked by the tests: a rigid frictionless die (``tube_wall = "rigid"``) makes every layer
laterally confined, so the stack shortens by sum_i t_i p / M_i exactly (M the constrained
modulus); without the tube and with nu = 0 each layer is in uniaxial stress, sum_i t_i p / E_i.
The elastic PTFE tube lies between the two.

Outputs: ``fields.bp``/``fields.pvd`` (displacement, von Mises, sigma_zz, hydrostatic pressure, body id),
``layers.csv`` (mean strains and stresses and the closed-form limits per layer), ``cell.png``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem
from ssbx.fem import kinematics
from ssbx.fem.boundary import FixedComponent, NormalPressure
from ssbx.fem.elasticity import IsotropicElastic, MultiBodyElasticity, Part
from ssbx.fem.figures import gather_cells, plot_deformed
from ssbx.fem.io import FieldWriter, ResultDir, write_csv_atomic
from ssbx.geometries import AXISYMMETRIC, CellDimensions, build_cell
from ssbx.studies.cell_inputs import CellGeometry, CellMaterials, CellMesh, cell_dimensions, cell_meshing
from ssbx.studies.config import choice, quantity

from ssbx.log import get_logger

DESCRIPTION = "assembled cell under stack pressure, linear elastic, frictionless tube wall"
log = get_logger(__name__)


@dataclass(frozen=True)
class Config:
    stack_pressure: float = quantity(10e6, "pressure", doc="held by the frame (DESIGN.md section 1)")
    tube_wall: str = choice("elastic", ("elastic", "rigid", "none"),
                            doc="elastic PTFE tube, rigid frictionless die, or no tube")
    degree: int = 2
    penalty: float = 1e3
    figure: bool = True
    geometry: CellGeometry = field(default_factory=CellGeometry)
    mesh: CellMesh = field(default_factory=CellMesh)
    materials: CellMaterials = field(default_factory=CellMaterials)

    def __post_init__(self):
        if self.degree not in (1, 2, 3):
            raise ValueError(f"degree: must be 1, 2 or 3, got {self.degree}")
        if self.penalty <= 0:
            raise ValueError(f"penalty: must be positive, got {self.penalty}")
        self.dimensions()  # geometric checks (e.g. negative thickness) before any meshing

    def dimensions(self) -> CellDimensions:
        return cell_dimensions(self.geometry, self.materials)


def run(cfg: Config, comm: MPI.Comm, out: ResultDir) -> dict:
    dims = cfg.dimensions()
    tm = build_cell(comm, dims, cell_meshing(cfg.mesh), kind=AXISYMMETRIC)
    stack = tuple(dims.bodies())
    mats = cfg.materials.by_body()
    laws = {b: IsotropicElastic.from_material(mats[b]) for b in (*stack, "ptfe")}

    fixed = [FixedComponent(("axis",), 0), FixedComponent(("rod_bottom_bottom",), 1)]
    parts = [Part("stack", stack)]
    sliding: list[str] = []
    bore = [g for g in (f"{b}_ptfe_interface" for b in stack) if g in tm.facet_groups]
    if cfg.tube_wall == "elastic":
        parts.append(Part("tube", ("ptfe",)))
        fixed.append(FixedComponent(("ptfe_bottom",), 1))
        sliding = bore
    elif cfg.tube_wall == "rigid":
        # a rigid frictionless die along the whole stack, rods included
        fixed.append(FixedComponent(tuple(bore + [g for g in (f"{b}_outer" for b in stack)
                                                   if g in tm.facet_groups]), 0))
    p = fem.Constant(tm.mesh, float(cfg.stack_pressure))
    problem = MultiBodyElasticity(tm, {b: laws[b] for pt in parts for b in pt.bodies}, parts, fixed,
                                  [NormalPressure(("rod_top_top",), p)], sliding, degree=cfg.degree,
                                  penalty=cfg.penalty)
    u = problem.solve()
    ndofs = problem.V.dofmap.index_map.size_global * problem.V.dofmap.index_map_bs

    # Post-processing: section-averaged quantities (true 2 pi r volume weights).
    ust = problem.block(u, 0)
    sig, eps = problem.stress(), problem.strain()
    rod_disp = problem.average(ust[1], facets=["rod_top_top"])
    reaction = -problem.integrate(sig[2, 2], facets=["rod_bottom_bottom"])
    area = np.pi * dims.rod_radius**2
    rows, free, confined = [], 0.0, 0.0
    for b in stack:
        m = laws[b]
        t = dims.thickness(b)
        m_c = m.constrained_modulus
        free += t * cfg.stack_pressure / m.youngs_modulus
        confined += t * cfg.stack_pressure / m_c
        rows.append({
            "body": b, "material": mats[b].name, "thickness_m": t,
            "mean_strain_zz": problem.average(eps[2, 2], cells=[b]),
            "mean_strain_rr": problem.average(eps[0, 0], cells=[b]),
            "mean_stress_zz_Pa": problem.average(sig[2, 2], cells=[b]),
            "mean_stress_rr_Pa": problem.average(sig[0, 0], cells=[b]),
            "strain_free_layer": -cfg.stack_pressure / m.youngs_modulus,
            "strain_confined_layer": -cfg.stack_pressure / m_c,
        })
    results = {
        "stack_pressure_Pa": cfg.stack_pressure,
        "rod_displacement_m": rod_disp,
        "shortening_free_layers_m": -free,
        "shortening_confined_m": -confined,
        "reaction_force_N": reaction,
        "reaction_pressure_Pa": reaction / area,
        "dofs": ndofs,
    }
    if cfg.tube_wall == "elastic":
        results["tube_outer_radial_displacement_m"] = problem.average(problem.block(u, 1)[0],
                                                                      facets=["ptfe_outer"])
    if comm.rank == 0:
        write_csv_atomic(out.file("layers.csv"), rows)

    # Fields for ParaView: one discontinuous element for the displacement, DG0 for the rest.
    msh = tm.mesh
    gdim = msh.geometry.dim
    Vd = fem.functionspace(msh, ("DG", cfg.degree, (gdim,)))
    V0 = fem.functionspace(msh, ("DG", 0))
    fields_out = []
    for name, expr, space in [
        ("displacement", problem.displacement(), Vd),
        ("von_mises", kinematics.von_mises(sig), V0),
        ("stress_zz", sig[2, 2], V0),
        ("pressure", -ufl.tr(sig) / 3, V0),
    ]:
        f = fem.Function(space, name=name)
        f.interpolate(fem.Expression(expr, space.element.interpolation_points))
        fields_out.append(f)
    body_id = fem.Function(V0, name="body")
    for b, tag in tm.cell_groups.items():
        body_id.x.array[tm.cells(b)] = tag
    with FieldWriter(comm, out.file("fields"), [*fields_out, body_id]) as w:
        w.write(0.0)
    if cfg.figure:
        data = gather_cells(problem.displacement(), kinematics.von_mises(sig) / 1e6, msh)
        if comm.rank == 0:
            plot_deformed(data, out.file("cell.png"),
                          f"cell_elastic: {cfg.stack_pressure / 1e6:g} MPa, tube {cfg.tube_wall}",
                          "von Mises (MPa)")
    log.info("rod displacement %.4e m (free %.4e, confined %.4e); reaction %.4g N on %d dofs",
             rod_disp, -free, -confined, reaction, ndofs)
    return results
