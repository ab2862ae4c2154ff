"""Micrometre-scale builders (porous SE, interlayer, pore channel): groups, analytic volumes, seeds, bad input."""

import math

from mpi4py import MPI

import numpy as np
import pytest
from ssbx.geometries import (
    GeometryError,
    Interlayer,
    PoreChannel,
    PorousSE,
    build_interlayer,
    build_pore_channel,
    build_porous_se,
    group_measure,
    group_volume,
)

SMALL_POROUS = dict(width=60e-6, height=40e-6, li_thickness=10e-6, seed=1)


def total_volume(tm):
    return sum(group_volume(tm, g) for g in tm.cell_groups)


# --------------------------------------------------------------------------------------------
# Porous SE
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def porous2d():
    p = PorousSE(**SMALL_POROUS)
    return p, build_porous_se(MPI.COMM_WORLD, p)


def test_porous_groups(porous2d):
    _, tm = porous2d
    assert tm.kind == "plane" and set(tm.cell_groups) == {"li", "se", "pore"}
    assert set(tm.facet_groups) == {"se_pore_interface", "li_se_interface", "li_left", "li_top", "li_bottom",
                                    "se_right", "se_top", "se_bottom"}


def test_porous_volumes(porous2d):
    p, tm = porous2d
    pore_area = tm.info["pore_volume"]
    assert pore_area == pytest.approx(p.porosity * p.width * p.height, rel=1e-12)
    assert tm.info["porosity_analytic"] == pytest.approx(p.porosity, rel=1e-12)
    # polygonal pores (>= 24 segments each) lose ~1 % of their area
    assert group_volume(tm, "pore") == pytest.approx(pore_area, rel=0.02)
    assert group_volume(tm, "pore") < pore_area
    assert total_volume(tm) == pytest.approx((p.li_thickness + p.width) * p.height, rel=1e-10)
    assert group_volume(tm, "li") == pytest.approx(p.li_thickness * p.height, rel=1e-10)
    perimeter = 2 * np.pi * np.sum(tm.info["pore_radii"])
    assert group_measure(tm, "se_pore_interface") == pytest.approx(perimeter, rel=0.02)
    assert group_measure(tm, "li_se_interface") == pytest.approx(p.height, rel=1e-10)
    assert group_measure(tm, "se_right") == pytest.approx(p.height, rel=1e-10)


def test_porous_pores_are_separated_and_inside():
    p = PorousSE(**SMALL_POROUS)
    for dim in (2, 3):
        c, r = p.pores(dim)
        lo, hi = p.origin(dim), p.origin(dim) + p.extent(dim)
        assert np.all(c - r[:, None] >= lo + p.ligament * (1 - 1e-12))
        assert np.all(c + r[:, None] <= hi - p.ligament * (1 - 1e-12))
        d = np.linalg.norm(c[:, None] - c[None], axis=2) - r[:, None] - r[None]
        np.fill_diagonal(d, np.inf)
        assert d.min() >= p.ligament * (1 - 1e-12)


def test_porous_seed(porous2d):
    p, tm = porous2d
    c, r = PorousSE(**SMALL_POROUS).pores(2)
    np.testing.assert_array_equal(c, tm.info["pore_centres"])
    np.testing.assert_array_equal(r, tm.info["pore_radii"])
    c2, r2 = PorousSE(**{**SMALL_POROUS, "seed": 2}).pores(2)
    assert len(r2) != len(r) or not np.allclose(c2, c)
    # the porosity is exact whatever the seed
    assert np.sum(np.pi * r2**2) == pytest.approx(p.porosity * p.width * p.height, rel=1e-12)


@pytest.mark.parametrize("field, value", [("porosity", 1.2), ("porosity", 0.0), ("width", -1e-6),
                                          ("li_thickness", -1e-6), ("mean_pore_diameter", 0.0),
                                          ("min_ligament", -1e-7), ("mean_pore_diameter", 45e-6)])
def test_porous_invalid(field, value):
    with pytest.raises(GeometryError, match=field):
        PorousSE(**{**SMALL_POROUS, field: value})


def test_porous_unreachable_porosity():
    with pytest.raises(GeometryError, match="porosity"):
        PorousSE(**{**SMALL_POROUS, "porosity": 0.75}).pores(2)
    with pytest.raises(GeometryError, match="kind"):
        build_porous_se(MPI.COMM_SELF, PorousSE(**SMALL_POROUS), kind="axisymmetric")


@pytest.mark.serial
def test_porous_3d():
    p = PorousSE(width=30e-6, height=30e-6, porosity=0.1, mean_pore_diameter=10e-6, seed=1)
    tm = build_porous_se(MPI.COMM_WORLD, p, kind="3d", mesh_size=2.5e-6)
    assert tm.kind == "3d" and tm.mesh.topology.dim == 3
    assert set(tm.cell_groups) == {"se", "pore"}
    tm.require(facets=["se_pore_interface", "se_left", "se_right", "se_top", "se_bottom", "se_front", "se_back"])
    assert total_volume(tm) == pytest.approx(30e-6**3, rel=1e-10)
    assert tm.info["pore_volume"] == pytest.approx(0.1 * 30e-6**3, rel=1e-12)
    # faceted spheres converge as O(h^2); coarse here
    assert group_volume(tm, "pore") == pytest.approx(tm.info["pore_volume"], rel=0.1)
    assert group_measure(tm, "se_front") == pytest.approx(30e-6**2, rel=1e-10)


# --------------------------------------------------------------------------------------------
# Interlayer
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def interlayer():
    p = Interlayer()
    return p, build_interlayer(MPI.COMM_WORLD, p)


def test_interlayer_groups(interlayer):
    _, tm = interlayer
    assert set(tm.cell_groups) == {"li", "interlayer", "se", "pore"}
    tm.require(facets=["li_interlayer_interface", "interlayer_se_interface", "interlayer_pore_interface",
                       "li_pore_interface", "li_bottom", "se_top", "li_left", "li_right", "interlayer_left",
                       "interlayer_right", "se_left", "se_right"])
    assert "se_pore_interface" not in tm.facet_groups  # default pores end inside the graphite


def test_interlayer_volumes(interlayer):
    p, tm = interlayer
    w = p.width
    assert total_volume(tm) == pytest.approx(w * (p.li_thickness + p.interlayer_thickness + p.se_thickness),
                                             rel=1e-10)
    assert group_volume(tm, "interlayer") + group_volume(tm, "pore") == pytest.approx(
        w * p.interlayer_thickness, rel=1e-10)
    assert group_volume(tm, "pore") == pytest.approx(tm.info["pore_area"], rel=0.01)
    # each mouth is the horizontal cut of a leg inclined at acos(1/tortuosity): d * tortuosity wide
    mouths = p.pore_count * p.pore_diameter * p.tortuosity
    assert group_measure(tm, "li_pore_interface") == pytest.approx(mouths, rel=1e-10)
    assert group_measure(tm, "li_interlayer_interface") == pytest.approx(w - mouths, rel=1e-10)
    assert tm.info["tortuosity_realised"] == pytest.approx([p.tortuosity] * p.pore_count, rel=1e-12)


def test_interlayer_area_formula(interlayer):
    """The outline area equals the round-joint stroke formula d L + sum r^2 (phi/2 - tan(phi/2)) + pi r^2 / 2."""
    p, tm = interlayer
    r = p.pore_diameter / 2
    for pts, area in zip(tm.info["pore_centrelines"], tm.info["pore_areas"], strict=True):
        seg = np.diff(np.asarray(pts), axis=0)
        length = np.linalg.norm(seg, axis=1).sum()
        phi = np.abs(np.diff(np.arctan2(seg[:, 1], seg[:, 0])))
        formula = 2 * r * length + np.sum(r**2 * (phi / 2 - np.tan(phi / 2))) + np.pi * r**2 / 2
        assert area == pytest.approx(formula, rel=1e-12)
        assert length == pytest.approx(p.tortuosity * p.depth, rel=1e-12)


def test_interlayer_open_and_straight_pores():
    p = Interlayer(pore_depth_fraction=1.0, tortuosity=1.0, pore_count=3)
    tm = build_interlayer(MPI.COMM_SELF, p, mesh_size=0.5e-6)
    mouths = 3 * p.pore_diameter
    assert group_measure(tm, "se_pore_interface") == pytest.approx(mouths, rel=1e-10)
    assert group_measure(tm, "li_pore_interface") == pytest.approx(mouths, rel=1e-10)
    # straight, fully through: rectangles, exact
    assert group_volume(tm, "pore") == pytest.approx(mouths * p.interlayer_thickness, rel=1e-10)
    assert tm.info["pore_area"] == pytest.approx(mouths * p.interlayer_thickness, rel=1e-12)


def test_interlayer_seed():
    a, b, c = Interlayer(seed=3), Interlayer(seed=3), Interlayer(seed=4)
    for x, y in zip(a.centrelines(), b.centrelines(), strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(x.shape != y.shape or not np.allclose(x, y)
               for x, y in zip(a.centrelines(), c.centrelines(), strict=True))


@pytest.mark.parametrize("field, value", [("tortuosity", 0.5), ("li_thickness", -1e-6),
                                          ("interlayer_thickness", 0.0), ("pore_diameter", 20e-6),
                                          ("pore_depth_fraction", 1.5), ("pore_depth_fraction", 0.99),
                                          ("pore_count", 0)])
def test_interlayer_invalid(field, value):
    with pytest.raises(GeometryError, match=field):
        Interlayer(**{field: value})


def test_interlayer_too_tortuous():
    with pytest.raises(GeometryError, match="tortuosity"):
        Interlayer(tortuosity=4.0, pore_count=3).centrelines()


# --------------------------------------------------------------------------------------------
# Pore channel
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def axisymmetric_channel():
    p = PoreChannel()
    return p, build_pore_channel(MPI.COMM_WORLD, p)


def test_channel_axisymmetric(axisymmetric_channel):
    p, tm = axisymmetric_channel
    r, L, R = p.pore_diameter / 2, p.pore_depth, p.reservoir_width / 2
    assert tm.kind == "axisymmetric"
    assert set(tm.cell_groups) == {"reservoir", "channel"}
    assert set(tm.facet_groups) == {"reservoir_top", "reservoir_channel_interface", "reservoir_bottom",
                                    "reservoir_outer", "channel_wall", "channel_bottom", "axis"}
    assert tm.info["channel_volume"] == pytest.approx(math.pi * r**2 * L, rel=1e-14)
    assert tm.info["centreline_length"] == L
    assert group_volume(tm, "channel") == pytest.approx(math.pi * r**2 * L, rel=1e-10)
    assert group_volume(tm, "reservoir") == pytest.approx(math.pi * R**2 * p.reservoir_height, rel=1e-10)
    assert group_measure(tm, "reservoir_channel_interface") == pytest.approx(math.pi * r**2, rel=1e-10)
    assert group_measure(tm, "channel_bottom") == pytest.approx(math.pi * r**2, rel=1e-10)
    assert group_measure(tm, "reservoir_bottom") == pytest.approx(math.pi * (R**2 - r**2), rel=1e-10)
    assert group_measure(tm, "reservoir_top") == pytest.approx(math.pi * R**2, rel=1e-10)
    assert group_measure(tm, "channel_wall") == pytest.approx(2 * math.pi * r * L, rel=1e-10)


def test_channel_plane_straight_and_tortuous():
    straight = PoreChannel(kind="plane", pore_depth=10e-6)
    tm = build_pore_channel(MPI.COMM_SELF, straight, mesh_size=0.5e-6)
    d, L = straight.pore_diameter, straight.pore_depth
    tm.require(cells=["reservoir", "channel"], facets=["reservoir_left", "reservoir_right", "reservoir_top",
                                                       "reservoir_bottom", "channel_wall", "channel_bottom",
                                                       "reservoir_channel_interface"])
    assert group_volume(tm, "channel") == pytest.approx(d * L, rel=1e-10)
    assert group_measure(tm, "channel_wall") == pytest.approx(2 * L, rel=1e-10)

    tort = PoreChannel(kind="plane", shape="tortuous", tortuosity=1.8, pore_depth=10e-6, seed=2)
    tm = build_pore_channel(MPI.COMM_SELF, tort, mesh_size=0.3e-6)
    assert tm.info["centreline_length"] == pytest.approx(1.8 * L, rel=1e-12)
    assert group_volume(tm, "channel") == pytest.approx(tm.info["channel_volume"], rel=0.01)
    assert total_volume(tm) == pytest.approx(tm.info["channel_volume"] + tm.info["reservoir_volume"], rel=1e-3)
    assert group_volume(tm, "reservoir") == pytest.approx(tm.info["reservoir_volume"], rel=1e-10)
    assert group_measure(tm, "reservoir_channel_interface") == pytest.approx(d * 1.8, rel=1e-10)
    assert group_measure(tm, "channel_bottom") == pytest.approx(d * 1.8, rel=1e-10)
    line = np.asarray(tm.info["centreline"])
    assert np.all(np.abs(line[:, 0]) <= tort.reservoir_width / 2) and line[0, 0] == 0.0


@pytest.mark.parametrize("kw, field", [({"shape": "tortuous"}, "shape"), ({"tortuosity": 0.5}, "tortuosity"),
                                       ({"pore_depth": -1e-6}, "pore_depth"), ({"reservoir_width": 1e-6},
                                                                                "reservoir_width"),
                                       ({"kind": "3d"}, "kind"), ({"shape": "spiral"}, "shape")])
def test_channel_invalid(kw, field):
    with pytest.raises(GeometryError, match=field):
        PoreChannel(**kw)


# --------------------------------------------------------------------------------------------
# Parallel parity
# --------------------------------------------------------------------------------------------


@pytest.mark.mpi
def test_micro_same_totals_on_one_and_all_ranks():
    cases = [
        (build_porous_se, PorousSE(**SMALL_POROUS), {}),
        (build_interlayer, Interlayer(), {"mesh_size": 0.5e-6}),
        (build_pore_channel, PoreChannel(), {}),
        (build_pore_channel, PoreChannel(kind="plane", shape="tortuous", pore_depth=10e-6), {}),
    ]
    for builder, params, kw in cases:
        world = builder(MPI.COMM_WORLD, params, **kw)
        local = builder(MPI.COMM_SELF, params, **kw)
        assert set(world.cell_groups) == set(local.cell_groups)
        assert set(world.facet_groups) == set(local.facet_groups)
        for g in world.cell_groups:
            assert group_volume(world, g) == pytest.approx(group_volume(local, g), rel=1e-12), g
        for f in world.facet_groups:
            assert group_measure(world, f) == pytest.approx(group_measure(local, f), rel=1e-12, abs=1e-30), f
