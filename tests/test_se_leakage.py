"""Study se_leakage: no Li0 inside the SE at the measured electronic conductivity, Li0 inside once
sigma_e reaches ~1e-5-1e-4 S/cm, and none at all when the ionic drop cannot pass the barrier."""

from mpi4py import MPI

import pytest
from ssbx.studies.config import ConfigError
from ssbx.studies.runner import prepare
from ssbx.studies.se_leakage import Config, solve_case


@pytest.mark.parametrize("comm", [MPI.COMM_WORLD])
def test_li_forms_inside_only_above_1e_5_s_cm(comm):
    cfg = Config(cells=100)
    share = {s: solve_case(cfg, comm, s * 100, tag=f"_t{s:g}").inside_share for s in (3.2e-9, 1e-6, 1e-4)}
    assert share[3.2e-9] < 1e-4  # measured conductivity: a few ppm of the current, no Li0 to speak of
    assert share[1e-6] < cfg.detection_share < share[1e-4]
    # the internal plating is fed by the electronic current: proportional to sigma_e while small
    assert share[1e-6] / share[3.2e-9] == pytest.approx(1e-6 / 3.2e-9, rel=0.05)


@pytest.mark.serial
def test_no_li_inside_below_the_barrier():
    """At 0.2 mA/cm^2 the anode overpotential plus the ionic drop stay below 20 mV: nothing
    nucleates, whatever sigma_e."""
    cfg = Config(cells=100, current_density=2.0)
    c = solve_case(cfg, MPI.COMM_SELF, 1e-1, tag="_low")
    assert c.inside_share == 0.0 and c.nucleated_from != c.nucleated_from  # nan: no nucleus


@pytest.mark.serial
def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="electronic_conductivities"):
        prepare({"study": "se_leakage", "electronic_conductivities": ["-1 S/cm"]})
    with pytest.raises(ConfigError, match="nucleation_barrier"):
        prepare({"study": "se_leakage", "nucleation_barrier": "20 mm"})
