"""Study stripping_voids: critical current against the B6 closed form (and so ~ sqrt(D)), the
measured capacity trends for Li and Li-Mg, stack pressure helping, and bad input."""

import math

from mpi4py import MPI

import pytest
from ssbx.fem.materials import FARADAY
from ssbx.studies.config import ConfigError
from ssbx.studies.runner import prepare
from ssbx.studies.stripping_voids import StrippedElectrode, critical_current_hold

CFG = prepare({"study": "stripping_voids", "cells": 200}).config


@pytest.mark.parametrize("comm", [MPI.COMM_WORLD])
def test_critical_current_follows_sqrt_d(comm):
    """j_crit = (F Delta c / 2) sqrt(pi D / t) from the FE interface response, for D over two
    decades: each to 1 %, so the exponent of D is 1/2."""
    js = []
    for f in (0.1, 1.0, 10.0):
        m = StrippedElectrode(CFG, comm, "li", diffusivity_factor=f, tag=f"_t{f:g}")
        j = m.critical_current_saturation(3600.0)
        closed = FARADAY * m.c_crit / 2 * math.sqrt(math.pi * m.D / 3600.0)
        assert j == pytest.approx(closed, rel=1e-2)
        js.append(j)
    assert math.log(js[2] / js[0]) / math.log(100.0) == pytest.approx(0.5, abs=0.01)


@pytest.mark.serial
def test_capacity_trends_li_vs_li_mg():
    """DESIGN.md M3: Li strips more than Li-Mg at 1 mA/cm^2; Li-Mg strips far more at
    0.1 mA/cm^2 than at 1 mA/cm^2, and more than Li at 0.1 mA/cm^2. Li ends by contact loss
    (voltage cutoff), Li-Mg by depletion of its skeleton."""
    q = {}
    for name in ("li", "li_mg10"):
        m = StrippedElectrode(CFG, MPI.COMM_SELF, name, tag=f"_q{name}")
        for i in (1.0, 10.0):
            s = m.run(i)
            q[name, i] = s.capacity[-1]
            assert s.end == ("cutoff" if name == "li" else "depleted")
            if name == "li":
                assert min(s.contact) < 0.1  # contact was lost
    assert q["li", 10.0] > q["li_mg10", 10.0]
    assert q["li_mg10", 1.0] > 5 * q["li_mg10", 10.0]
    assert q["li_mg10", 1.0] > 2 * q["li", 1.0]


@pytest.mark.serial
def test_stack_pressure_raises_the_critical_current():
    """At 0.5 mA/cm^2 a Li electrode without stack pressure loses contact within the hour; at
    2 MPa creep closes voids once the contacts carry p/theta above the micrometre strength,
    and it keeps stripping. The critical current grows with pressure."""
    m = StrippedElectrode(CFG, MPI.COMM_SELF, "li", tag="_p")
    assert m.run(5.0, t_end=3600.0, pressure=0.0, record=False).end == "cutoff"
    assert m.run(5.0, t_end=3600.0, pressure=2e6, record=False).end == "time"
    j = [critical_current_hold(m, p, 3600.0, lo=0.5, hi=50.0) for p in (0.0, 5e6)]
    assert 1.0 < j[0] < 5.0 and j[1] > 2 * j[0]


@pytest.mark.serial
@pytest.mark.parametrize("raw, field", [
    ({"currents": ["-1 mA/cm^2"]}, "currents"),
    ({"electrodes": ["sodium"]}, "electrodes"),
    ({"li": {"critical_site_fraction": 1.5}}, "critical_site_fraction"),
    ({"void_height": "-1 um"}, "void_height"),
    ({"cells": 3}, "cells"),
])
def test_config_errors_name_the_field(raw, field):
    with pytest.raises(ConfigError, match=field):
        prepare({"study": "stripping_voids", **raw})


@pytest.mark.mpi
def test_stripped_capacity_same_on_one_and_two_ranks():
    if MPI.COMM_WORLD.size == 1:
        pytest.skip("compares COMM_SELF with a 2-rank COMM_WORLD")
    q = []
    for comm in (MPI.COMM_SELF, MPI.COMM_WORLD):
        s = StrippedElectrode(CFG, comm, "li", tag=f"_par{comm.size}").run(10.0)
        q.append((s.capacity[-1], s.end, len(s.times)))
    assert q[0][1] == q[1][1] == "cutoff" and q[0][2] == q[1][2]
    assert q[1][0] == pytest.approx(q[0][0], rel=1e-8)
