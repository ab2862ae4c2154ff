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


def test_a_config_extends_its_base(tmp_path):
    """``base`` starts from another config (relative path, tables merged key by key), the file's
    own keys win, and a missing base or a cycle is an error naming the file."""
    from ssbx.studies.config import load_toml

    (tmp_path / "a.toml").write_text('study = "cell_elastic"\nstack_pressure = "5 MPa"\n'
                                     '[geometry]\nli_thickness = "100 um"\nse_mass = "0.05 g"\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.toml").write_text('base = "../a.toml"\nstack_pressure = "7 MPa"\n'
                                             '[geometry]\nli_thickness = "50 um"\n')
    raw = load_toml(tmp_path / "sub" / "b.toml")
    assert raw == {"study": "cell_elastic", "stack_pressure": "7 MPa",
                   "geometry": {"li_thickness": "50 um", "se_mass": "0.05 g"}}
    c = prepare(raw).config
    assert c.stack_pressure == 7e6 and c.geometry.li_thickness == pytest.approx(50e-6)
    assert c.geometry.se_mass == pytest.approx(50e-6)
    (tmp_path / "c.toml").write_text('base = "d.toml"\n')
    (tmp_path / "d.toml").write_text('base = "c.toml"\n')
    with pytest.raises(ConfigError, match="leads back to itself"):
        load_toml(tmp_path / "c.toml")
    (tmp_path / "e.toml").write_text('base = "missing.toml"\n')
    with pytest.raises(ConfigError, match="missing.toml.*base of"):
        load_toml(tmp_path / "e.toml")
    (tmp_path / "f.toml").write_text('base = 3\n')
    with pytest.raises(ConfigError, match="base"):
        load_toml(tmp_path / "f.toml")
