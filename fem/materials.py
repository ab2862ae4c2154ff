"""Material library: typed, SI, every number with its source.

A value without a literature source is marked "(assumed)" and stays configurable: configs may
override any property, e.g. ``[materials.li] youngs_modulus = "8 GPa"``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ssbx.fem.units import to_si

FARADAY = 96485.33212  # C/mol (CODATA 2018)
GAS_CONSTANT = 8.314462618  # J/(mol K) (CODATA 2018)


class UnknownMaterialError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class MaterialError(ValueError):
    """A material property is invalid; the message names the material and the property."""


#: property name -> quantity kind (for unit conversion of overrides)
PROPERTY_KINDS = {
    "density": "density",
    "youngs_modulus": "pressure",
    "poisson_ratio": "dimensionless",
    "yield_strength": "pressure",
    "ionic_conductivity": "conductivity",
    "electronic_conductivity": "conductivity",
    "molar_volume": "molar_volume",
    "li_diffusivity": "diffusivity",
    "creep_exponent": "dimensionless",
    "creep_activation_energy": "energy_per_mol",
    "max_li_concentration": "concentration",
}


@dataclass(frozen=True)
class Material:
    """Properties in SI. ``None`` means "not defined for this material"; every defined property
    has an entry in ``sources``."""

    name: str
    description: str
    density: float | None = None  # kg/m^3
    youngs_modulus: float | None = None  # Pa
    poisson_ratio: float | None = None  # -
    yield_strength: float | None = None  # Pa
    ionic_conductivity: float | None = None  # S/m (Li+)
    electronic_conductivity: float | None = None  # S/m
    molar_volume: float | None = None  # m^3/mol (of Li)
    li_diffusivity: float | None = None  # m^2/s (self/tracer or chemical, see source)
    creep_exponent: float | None = None  # - (power-law creep)
    creep_activation_energy: float | None = None  # J/mol
    max_li_concentration: float | None = None  # mol/m^3 (intercalation hosts)
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        for prop in PROPERTY_KINDS:
            v = getattr(self, prop)
            if v is None:
                continue
            if prop not in self.sources:
                raise MaterialError(f"material '{self.name}': property '{prop}' has no source")
            if prop == "poisson_ratio":
                if not -1.0 < v < 0.5:
                    raise MaterialError(f"material '{self.name}': 'poisson_ratio' must lie in (-1, 0.5), got {v}")
            elif v <= 0:
                raise MaterialError(f"material '{self.name}': '{prop}' must be positive, got {v}")

    def require(self, *props: str) -> None:
        missing = [p for p in props if getattr(self, p) is None]
        if missing:
            raise MaterialError(f"material '{self.name}' does not define {', '.join(missing)}")

    def with_overrides(self, overrides: dict, where: str = "materials") -> Material:
        """A copy with properties replaced (values may carry units); the source says 'config'."""
        changes, sources = {}, dict(self.sources)
        for key, val in overrides.items():
            if key not in PROPERTY_KINDS:
                raise MaterialError(
                    f"{where}.{key}: unknown material property; known: {sorted(PROPERTY_KINDS)}"
                )
            changes[key] = to_si(val, PROPERTY_KINDS[key], f"{where}.{key}")
            sources[key] = "config override"
        return dataclasses.replace(self, **changes, sources=sources)


_MASIAS = "Masias et al., J. Mater. Sci. 54 (2019) 2585"
_LEPAGE = "LePage et al., J. Electrochem. Soc. 166 (2019) A89"
_DESIGN = "ssbx DESIGN.md section 1/3"

LIBRARY: dict[str, Material] = {
    m.name: m
    for m in [
        Material(
            "li", "lithium metal (room temperature)",
            density=534.0, youngs_modulus=7.82e9, poisson_ratio=0.381, yield_strength=0.8e6,
            electronic_conductivity=1.1e7, molar_volume=13.0e-6, li_diffusivity=1.6e-14,
            creep_exponent=6.6, creep_activation_energy=37e3,
            sources={
                "density": "CRC Handbook of Chemistry and Physics",
                "youngs_modulus": _MASIAS, "poisson_ratio": _MASIAS,
                "yield_strength": _MASIAS + " (bulk 0.73-0.81 MPa)",
                "electronic_conductivity": "CRC Handbook (9.3 uOhm cm at 20 C)",
                "molar_volume": _DESIGN,
                "li_diffusivity": "tracer D* = 1.6e-10 cm2/s (" + _DESIGN + ")",
                "creep_exponent": _LEPAGE, "creep_activation_energy": _LEPAGE,
            },
        ),
        Material(
            "li_mg10", "Li-Mg alloy, 10 at.% Mg",
            density=663.0, youngs_modulus=7.82e9, poisson_ratio=0.381, yield_strength=0.8e6,
            electronic_conductivity=1.1e7, molar_volume=13.1e-6, li_diffusivity=2.4e-15,
            sources={
                "density": "Vegard estimate from Li 13.0 and Mg 14.0 cm3/mol (assumed)",
                "youngs_modulus": "Li value (assumed)", "poisson_ratio": "Li value (assumed)",
                "yield_strength": "Li value (assumed)",
                "electronic_conductivity": "Li value (assumed)",
                "molar_volume": "Vegard estimate (assumed)",
                "li_diffusivity": "D_Li = 2.4e-11 cm2/s (" + _DESIGN + ")",
            },
        ),
        Material(
            "ss316", "stainless steel 316 (plunger rods)",
            density=8000.0, youngs_modulus=193e9, poisson_ratio=0.28, yield_strength=205e6,
            electronic_conductivity=1.35e6,
            sources={
                "density": "ASM Handbook, AISI 316", "youngs_modulus": "ASM Handbook, AISI 316",
                "poisson_ratio": "ASM Handbook, AISI 316", "yield_strength": "ASM Handbook, AISI 316 annealed",
                "electronic_conductivity": "ASM Handbook, AISI 316 (74 uOhm cm)",
            },
        ),
        Material(
            "ptfe", "PTFE die tube",
            density=2200.0, youngs_modulus=0.5e9, poisson_ratio=0.46, yield_strength=10e6,
            sources={
                "density": "DuPont Teflon PTFE datasheet", "youngs_modulus": _DESIGN + " (0.4-0.8 GPa)",
                "poisson_ratio": _DESIGN, "yield_strength": "~10 MPa (assumed)",
            },
        ),
        Material(
            "peek", "PEEK die tube (alternative)",
            density=1300.0, youngs_modulus=3.6e9, poisson_ratio=0.40, yield_strength=100e6,
            sources={k: "Victrex PEEK 450G datasheet" for k in
                     ("density", "youngs_modulus", "poisson_ratio", "yield_strength")},
        ),
        Material(
            "li6ps5cl", "argyrodite Li6PS5Cl, dense",
            density=1640.0, youngs_modulus=22e9, poisson_ratio=0.37,
            ionic_conductivity=0.2, electronic_conductivity=3.2e-7,
            sources={
                "density": "Singh et al. 2022 (theoretical density)", "youngs_modulus": _DESIGN,
                "poisson_ratio": _DESIGN, "ionic_conductivity": _DESIGN + " (1.6-2 mS/cm)",
                "electronic_conductivity": "measured 3.2e-9 S/cm (" + _DESIGN + ")",
            },
        ),
        Material(
            "li5.4ps4.4cl1.6", "argyrodite Li5.4PS4.4Cl1.6, dense",
            density=1640.0, youngs_modulus=22e9, poisson_ratio=0.37,
            ionic_conductivity=0.78, electronic_conductivity=3.2e-7,
            sources={
                "density": "Li6PS5Cl value (assumed)", "youngs_modulus": "Li6PS5Cl value (assumed)",
                "poisson_ratio": "Li6PS5Cl value (assumed)", "ionic_conductivity": _DESIGN + " (7.8 mS/cm)",
                "electronic_conductivity": "Li6PS5Cl measured value (assumed)",
            },
        ),
        Material(
            "nmc811_composite", "NMC811 : Li6PS5Cl 70:30 wt cathode composite",
            density=3030.0, youngs_modulus=30e9, poisson_ratio=0.3, electronic_conductivity=1.0,
            sources={
                "density": "rule of mixtures, NMC811 4.75 and Li6PS5Cl 1.64 g/cm3 (assumed 70:30 wt)",
                "youngs_modulus": "composite estimate (assumed)", "poisson_ratio": "(assumed)",
                "electronic_conductivity": "(assumed)",
            },
        ),
        Material(
            "graphite", "graphite interlayer (MIEC host)",
            density=2260.0, youngs_modulus=15e9, poisson_ratio=0.3, electronic_conductivity=1e4,
            max_li_concentration=31000.0, li_diffusivity=8.4e-13,
            sources={
                "density": "theoretical graphite density", "youngs_modulus": "porous graphite (assumed)",
                "poisson_ratio": "(assumed)", "electronic_conductivity": "porous graphite layer (assumed)",
                "max_li_concentration": _DESIGN, "li_diffusivity": "Ecker et al. 2015, D(x=0) prefactor",
            },
        ),
    ]
}


def get_material(name: str, overrides: dict | None = None, where: str = "materials") -> Material:
    """Library material by name, optionally with property overrides; unknown names raise an error
    that names the field and lists the library."""
    key = str(name).lower()
    if key not in LIBRARY:
        raise UnknownMaterialError(f"{where}: unknown material {name!r}; known materials: {sorted(LIBRARY)}")
    m = LIBRARY[key]
    return m.with_overrides(overrides, where) if overrides else m
