"""Config tables shared by the studies of the whole cell (cell_elastic, later cell_assembly).

Pellet and cathode thicknesses are derived from the powder masses, the theoretical densities in
the material library and the relative densities, as in the experiment (60 mg of argyrodite in a
1/4 in die), unless a thickness is given explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

from ssbx.fem.materials import Material, get_material
from ssbx.geometries import CellDimensions, CellMeshing, disc_thickness
from ssbx.studies.config import quantity

_D = CellDimensions()
_M = CellMeshing()


@dataclass(frozen=True)
class CellGeometry:
    tube_inner_radius: float = quantity(_D.tube_inner_radius, "length")
    tube_outer_radius: float = quantity(_D.tube_outer_radius, "length")
    rod_length: float = quantity(_D.rod_length, "length")
    rod_protrusion: float = quantity(_D.rod_protrusion, "length", "nonnegative")
    rod_clearance: float = quantity(_D.rod_clearance, "length", "nonnegative")
    li_thickness: float = quantity(_D.li_thickness, "length")
    interlayer_thickness: float = quantity(0.0, "length", "nonnegative")
    se_mass: float = quantity(60e-6, "mass", doc="argyrodite powder mass (DESIGN.md section 1)")
    se_relative_density: float = quantity(0.83, "dimensionless", "unit_interval",
                                          doc="~83 % after 362 MPa (Singh 2022)")
    se_thickness: float = quantity(0.0, "length", "nonnegative", doc="0 = derive from se_mass")
    cathode_mass: float = quantity(8e-6, "mass", doc="cathode composite mass (DESIGN.md section 1)")
    cathode_relative_density: float = quantity(0.80, "dimensionless", "unit_interval", doc="(assumed)")
    cathode_thickness: float = quantity(0.0, "length", "nonnegative", doc="0 = derive from cathode_mass")


@dataclass(frozen=True)
class CellMesh:
    size_max: float = quantity(_M.size_max, "length")
    cells_across: float = quantity(_M.cells_across, "dimensionless")
    transition: float = quantity(_M.transition, "length")


@dataclass(frozen=True)
class CellMaterials:
    """Library names per role, optionally with property overrides: ``li = {name = "li", youngs_modulus = "8 GPa"}``."""

    rods: str | dict = "ss316"
    tube: str | dict = "ptfe"
    li: str | dict = "li"
    interlayer: str | dict = "graphite"
    se: str | dict = "li6ps5cl"
    cathode: str | dict = "nmc811_composite"

    def __post_init__(self):
        for role in ("rods", "tube", "li", "interlayer", "se", "cathode"):
            self.material(role)  # raises naming the field if unknown

    def material(self, role: str) -> Material:
        spec = getattr(self, role)
        where = f"materials.{role}"
        if isinstance(spec, dict):
            spec = dict(spec)
            if "name" not in spec:
                raise ValueError(f"{where}: a table needs 'name' (the library material)")
            return get_material(spec.pop("name"), spec, where)
        return get_material(spec, None, where)

    def by_body(self) -> dict[str, Material]:
        """Material of every body of the cell mesh."""
        return {"rod_bottom": self.material("rods"), "rod_top": self.material("rods"),
                "ptfe": self.material("tube"), "li": self.material("li"),
                "interlayer": self.material("interlayer"), "se": self.material("se"),
                "cathode": self.material("cathode")}


def cell_dimensions(g: CellGeometry, mats: CellMaterials) -> CellDimensions:
    """CellDimensions from the config, deriving pellet and cathode thickness from their masses."""
    se = g.se_thickness or disc_thickness(g.se_mass, mats.material("se").density,
                                          g.se_relative_density, g.tube_inner_radius)
    cath = g.cathode_thickness or disc_thickness(g.cathode_mass, mats.material("cathode").density,
                                                 g.cathode_relative_density, g.tube_inner_radius)
    return CellDimensions(
        tube_inner_radius=g.tube_inner_radius, tube_outer_radius=g.tube_outer_radius,
        rod_length=g.rod_length, rod_protrusion=g.rod_protrusion, rod_clearance=g.rod_clearance,
        li_thickness=g.li_thickness, interlayer_thickness=g.interlayer_thickness,
        se_thickness=se, cathode_thickness=cath,
    )


def cell_meshing(m: CellMesh) -> CellMeshing:
    return CellMeshing(size_max=m.size_max, cells_across=m.cells_across, transition=m.transition)


