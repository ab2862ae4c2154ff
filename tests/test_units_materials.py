"""Unit conversion at the input boundary and the material library."""

import pytest
from ssbx.fem.elasticity import IsotropicElastic
from ssbx.fem.materials import LIBRARY, PROPERTY_KINDS, MaterialError, UnknownMaterialError, get_material
from ssbx.fem.units import UnitError, to_si


@pytest.mark.parametrize(
    "text, kind, si",
    [
        ("10 MPa", "pressure", 10e6),
        ("25 um", "length", 25e-6),
        ("25 µm", "length", 25e-6),
        ("0.2 mA/cm^2", "current_density", 2.0),
        ("3.2e-9 S/cm", "conductivity", 3.2e-7),
        ("1.6e-10 cm^2/s", "diffusivity", 1.6e-14),
        ("60 mg", "mass", 60e-6),
        ("1.64 g/cm^3", "density", 1640.0),
        ("10 min", "time", 600.0),
        ("20 h", "time", 72000.0),
        (300e6, "pressure", 300e6),
    ],
)
def test_to_si(text, kind, si):
    assert to_si(text, kind) == pytest.approx(si, rel=1e-12)


def test_wrong_dimension_names_field():
    with pytest.raises(UnitError, match="geometry.li_thickness"):
        to_si("10 MPa", "length", "geometry.li_thickness")
    with pytest.raises(UnitError, match="stack_pressure"):
        to_si("ten", "pressure", "stack_pressure")


def test_library_has_sources_and_positive_values():
    for m in LIBRARY.values():
        for prop in PROPERTY_KINDS:
            if getattr(m, prop) is not None:
                assert m.sources[prop]


def test_constrained_modulus_and_overrides():
    li = get_material("li")
    E, nu = li.youngs_modulus, li.poisson_ratio
    law = IsotropicElastic.from_material(li)
    assert law.constrained_modulus == pytest.approx(E * (1 - nu) / ((1 + nu) * (1 - 2 * nu)))
    assert law.mu == pytest.approx(E / (2 * (1 + nu)))
    soft = get_material("li", {"youngs_modulus": "5 GPa"})
    assert soft.youngs_modulus == 5e9 and soft.sources["youngs_modulus"] == "config override"
    with pytest.raises(MaterialError, match="poisson_ratio"):
        get_material("li", {"poisson_ratio": 0.6})
    with pytest.raises(MaterialError, match="materials.stiffness"):
        get_material("li", {"stiffness": 1})


def test_unknown_material_lists_library():
    with pytest.raises(UnknownMaterialError, match="materials.li: unknown material 'unobtainium'"):
        get_material("unobtainium", where="materials.li")
