"""Config validation: units, bounds, unknown keys, overrides; errors name the field."""

import pytest
from ssbx.studies.config import ConfigError
from ssbx.studies.runner import prepare


def test_units_resolved_to_si():
    c = prepare({"study": "cell_elastic", "stack_pressure": "5 MPa",
                 "geometry": {"li_thickness": "100 um", "se_mass": "0.05 g"}}).config
    assert c.stack_pressure == 5e6
    assert c.geometry.li_thickness == pytest.approx(100e-6)
    assert c.geometry.se_mass == pytest.approx(50e-6)
    assert c.dimensions().se_thickness == pytest.approx(1.3918e-3 * 5 / 6, rel=1e-4)


@pytest.mark.parametrize("raw, field", [
    ({"geometry": {"li_thickness": "-1 um"}}, "geometry.li_thickness"),
    ({"geometry": {"se_relative_density": 1.2}}, "geometry.se_relative_density"),
    ({"geometry": {"tube_outer_radius": "1 mm"}}, "tube_outer_radius"),
    ({"materials": {"tube": "teflon2000"}}, "materials.tube"),
    ({"materials": {"li": {"name": "li", "youngs_modulus": "-1 GPa"}}}, "youngs_modulus"),
    ({"tube_wall": "glued"}, "tube_wall"),
    ({"stack_pressure": "3 mm"}, "stack_pressure"),
    ({"stack_pressure": "-3 MPa"}, "stack_pressure"),
    ({"typo": 1}, "typo"),
    ({"degree": 7}, "degree"),
])
def test_errors_name_the_field(raw, field):
    with pytest.raises(ConfigError, match=field):
        prepare({"study": "cell_elastic", **raw})


def test_unknown_study():
    with pytest.raises(ConfigError, match="unknown study 'nope'"):
        prepare({"study": "nope"})


def test_override_by_bare_or_dotted_name():
    c = prepare({"study": "cell_elastic"}, {"li_thickness": "200um", "mesh.size_max": "1mm"}).config
    assert c.geometry.li_thickness == pytest.approx(200e-6) and c.mesh.size_max == pytest.approx(1e-3)
    with pytest.raises(ConfigError, match="no such field"):
        prepare({"study": "cell_elastic"}, {"nothing": "1"})
