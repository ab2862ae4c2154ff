"""Study dendrite_pressure (phase-field Li in a porous SE under pressure): the mechanics of the
study on a tiny cell (a 15 x 8 um Li | porous SE cell, a few time steps): outputs and the
comparison figure, short detection on a forced short (a protrusion bridging the cell), the
hydrostatic pressure in the grown Li rising with the external pressure, and the same numbers on
COMM_SELF and COMM_WORLD. All assertions are on allreduced scalars."""

import csv
import dataclasses
import json
import math
import shutil
from pathlib import Path

from mpi4py import MPI

import numpy as np
import pytest
from ssbx.fem.io import ResultDir, checkpoint_meta
from ssbx.studies import dendrite_pressure as dp
from ssbx.studies.config import ConfigError, load_toml, parse

TINY = {"li_thickness": "3 um", "se_thickness": "12 um", "height": "8 um", "porosity": 0.1,
        "mean_pore_diameter": "3 um", "seed": 1, "mesh_size": "0.5 um", "protrusions": 2,
        "protrusion_radius": "1.5 um", "protrusion_length": "2 um", "interface_width": "1.5 um",
        "t_end": "0.4 s", "dt0": "0.05 s", "dt_max": "0.2 s", "snapshot_times": ["0.2 s"]}


def tiny(**over) -> dp.Config:
    return parse(dp.Config, {**TINY, **over})


def _run(cfg, root: Path, case: str) -> tuple[dict, Path]:
    comm = MPI.COMM_WORLD
    with ResultDir(comm, root, "dendrite_pressure", case, {"study": "dendrite_pressure", "case": case,
                                                            "config_si": dataclasses.asdict(cfg)}) as out:
        results = dp.run(cfg, comm, out)
        out.manifest["results"] = results
    return results, out.result_path


@pytest.fixture(scope="module")
def two_pressures(tmp_path_factory):
    root = Path(MPI.COMM_WORLD.bcast(str(tmp_path_factory.mktemp("dp")), root=0))
    return {p: _run(tiny(external_pressure=f"{p} MPa"), root / "sweep", f"external_pressure={p}MPa")
            for p in (0, 10)}, root


def test_config_is_validated():
    with pytest.raises(ConfigError, match="mesh_size"):
        parse(dp.Config, {**TINY, "mesh_size": "2 um"})
    with pytest.raises(ConfigError, match="snapshot_times"):
        parse(dp.Config, {**TINY, "snapshot_times": ["1 s"]})
    with pytest.raises(ConfigError, match="external_pressure"):
        parse(dp.Config, {**TINY, "external_pressure": "-1 MPa"})
    with pytest.raises(ConfigError, match="series_resistance"):
        parse(dp.Config, {**TINY, "series_resistance": "-0.1 ohm*cm^2"})
    with pytest.raises(ConfigError, match="series_resistance"):
        parse(dp.Config, {**TINY, "series_resistance": "0.1 V"})
    with pytest.raises(ConfigError, match="counter_contact_resistance"):
        parse(dp.Config, {**TINY, "counter_contact_resistance": "0.1 ohm*cm^2", "electrolyte": "nernst_planck"})
    with pytest.raises(ConfigError, match="counter_contact_resistance"):
        parse(dp.Config, {**TINY, "counter_contact_resistance": "-0.1 ohm*cm^2"})
    with pytest.raises(ConfigError, match="conduction_threshold"):
        parse(dp.Config, {**TINY, "conduction_threshold": 0.6})
    with pytest.raises(ConfigError, match="pore_mobility"):
        parse(dp.Config, {**TINY, "pore_evolution": "cahn_hilliard"})
    with pytest.raises(ConfigError, match="pore_mobility"):
        parse(dp.Config, {**TINY, "pore_evolution": "cahn_hilliard", "pore_mobility": "1e-19 m^2/s"})
    with pytest.raises(ConfigError, match="pore_evolution"):
        parse(dp.Config, {**TINY, "pore_evolution": "sintering"})
    with pytest.raises(ConfigError, match="restart_from"):
        parse(dp.Config, {**TINY, "restart_from": "no/such/checkpoint.npz"})
    with pytest.raises(ConfigError, match="checkpoint_interval"):
        parse(dp.Config, {**TINY, "checkpoint_interval": "-1 s"})
    configs = Path(dp.__file__).parent / "configs"
    for name in ("dendrite_pressure.toml", "dendrite_pressure_full.toml", "dendrite_pressure_fingers.toml"):
        raw = load_toml(configs / name)
        assert raw["study"] == "dendrite_pressure"
        cfg = parse(dp.Config, {k: v for k, v in raw.items() if k not in ("study", "case")})
        assert cfg.voltage == pytest.approx(-0.35) and cfg.porosity == pytest.approx(0.1625)
    p = tiny().parameters()
    assert p.interface_width == pytest.approx(1.5e-6, rel=1e-12)
    assert p.migration_conductivity == pytest.approx(p.electrolyte_conductivity, rel=1e-12)  # consistent


def test_the_pore_layouts_are_typical():
    """The shipped cells' pore seeds are the first typical layouts of seeds 0-199 (typical_seed):
    5 pores, the median count; the largest 11.7 um across (median 12.8 um); the nearest pore edge
    at x = 14.4 um (median 13.3 um; the protrusion tips reach 13 um). The previous seed 3 was a rare
    draw: 3 pores, one 17.6 um across (larger than in 98.5 % of the seeds), none before x = 21.8 um
    (further than in 92 %)."""
    configs = Path(dp.__file__).parent / "configs"
    for name in ("dendrite_pressure.toml", "dendrite_pressure_fingers.toml"):
        raw = load_toml(configs / name)
        cfg = parse(dp.Config, {k: v for k, v in raw.items() if k not in ("study", "case")})
        assert dp.typical_seed(cfg) == cfg.seed, name
    assert dp.typical_seeds(cfg)[:4] == [18, 23, 33, 70]  # the fingering ensemble's seeds (README)
    centres, radii = dataclasses.replace(cfg, seed=3).porous().pores(2)
    assert len(radii) == 3 and 2 * radii.max() > 17e-6 and np.min(centres[:, 0] - radii) > 21e-6


def test_outputs_and_comparison(two_pressures):
    cases, root = two_pressures
    res, path = cases[0]
    assert res["ended"] == "t_end" and res["t_final_s"] == pytest.approx(0.4)
    assert res["short_time_s"] is None and res["leakage_final_A_m2"] > 0 and res["li_grown_volume_um2"] > 0
    assert 1 < res["electronic_max_step_ratio"] < 1.5  # no short: the SE's own leakage creeps
    for name in ("history.csv", "fields.bp", "fields.pvd", "snapshots.npz", "dendrite_pressure.png"):
        assert (path / name).exists(), name
    ok = True
    if MPI.COMM_WORLD.rank == 0:
        figure = dp.compare(root)
        ok = figure.is_file() and figure.with_suffix(".csv").is_file() and len(dp.find_cases(root)) == 2
    assert MPI.COMM_WORLD.bcast(ok, root=0)


def test_pore_layout_ensemble(two_pressures, tmp_path_factory):
    """The ensemble gathers the cases of several folders by seed and pressure (seed 1 at 0 and 10
    MPa, seed 2 at 10 MPa), and refuses a case that differs in anything else (here t_end)."""
    _, root = two_pressures
    comm = MPI.COMM_WORLD
    other = Path(comm.bcast(str(tmp_path_factory.mktemp("dpe")), root=0))
    _run(tiny(seed=2, external_pressure="10 MPa", figure=False), other / "seeds", "seed=2")
    _run(tiny(seed=2, t_end="0.2 s", snapshot_times=["0.2 s"], figure=False), other / "shorter", "seed=2")
    ok = True
    if comm.rank == 0:  # serial post-processing; a failure must not leave rank 1 waiting
        try:
            path, rows = dp.ensemble([root, other / "seeds"], other / "ensemble.png")
            ok = path.is_file() and path.with_suffix(".csv").is_file()
            ok &= [(r["seed"], r["external_pressure_MPa"]) for r in rows] == [(1, 0), (1, 10), (2, 10)]
            ok &= all(r["short_time_s"] is None and r["li_grown_um2"] > 0 for r in rows)
            table = dp.ensemble_table(rows).splitlines()
            ok &= len(table) == 2 + 3 and table[-1].startswith("| 2 | 10 | - | none | --- |")
            with pytest.raises(ValueError, match="t_end"):
                dp.ensemble([root, other], other / "mixed.png")
        except BaseException as e:  # pytest failures are BaseExceptions
            ok = repr(e)
    assert comm.bcast(ok, root=0) is True


def test_pressure_in_li_rises_with_external_pressure(two_pressures):
    cases, _ = two_pressures
    (r0, _), (r10, _) = cases[0], cases[10]
    # the applied 10 MPa adds to the deposition self-stress in the grown Li (mean and peak)
    assert r10["pressure_li_mean_final_MPa"] > r0["pressure_li_mean_final_MPa"] + 2
    assert r10["pressure_li_peak_MPa"] > r0["pressure_li_peak_MPa"]
    assert r10["pressure_se_mean_final_MPa"] > r0["pressure_se_mean_final_MPa"] + 2


def test_pressure_slows_plating(two_pressures):
    """The single-ion default: the work of deposition against 10 MPa costs overpotential, so at the
    same cell voltage less current plates and less Li grows (the sweep's trend, on the tiny cell).
    Measured at 0.4 s: 3.7e3 vs 2.1e3 A/m^2, 5.6 vs 4.9 um^2. (The previous Nernst-Planck default
    gives 9.1e3 vs 8.9e3 A/m^2 here: pressure hardly acts.)"""
    cases, _ = two_pressures
    (r0, _), (r10, _) = cases[0], cases[10]
    assert r10["plating_final_A_m2"] < 0.8 * r0["plating_final_A_m2"]
    assert r10["li_grown_volume_um2"] < r0["li_grown_volume_um2"]


def test_fingering_regime_grows_the_protrusion_tip():
    """Without the Allen-Cahn curvature flow and with fast charge transfer (the fingers config) the
    SE's ohmic field, not the kinetics, sets where Li plates: the protrusion tip, nearest the
    counter electrode, takes the current and advances. With the curvature flow kept, at Chen 2015's
    or at the fast kinetics, the same protrusion (radius 1.5 um) melts back into the anode faster
    than plating lifts it. Measured on the tiny cell after 1.5 s: tip +1.63 um (5.4 um^2 grown);
    fast kinetics with curvature flow -0.28 um; Chen 2015 -0.57 um."""
    fingers = {"curvature_fraction": 0.0, "reaction_constant": 0.054, "t_end": "1.5 s", "dt_max": "0.25 s",
               "snapshot_times": ["1.5 s"], "protrusions": 1, "protrusion_length": "2 um"}
    advance = {}
    for name, over in (("fingers", {}), ("fast", {"curvature_fraction": 1.0}),
                       ("chen", {"curvature_fraction": 1.0, "reaction_constant": 1.81e-3})):
        res, rows, _ = dp.simulate(tiny(**{**fingers, **over}), MPI.COMM_WORLD, prefix=f"dp_{name}_")
        assert res["short_time_s"] is None
        advance[name] = (rows[-1]["li_front"] - rows[0]["li_front"]) / 1e-6
    assert advance["fingers"] > 1.0 and advance["fast"] < 0 and advance["chen"] < 0, advance


def test_forced_short_is_detected(tmp_path_factory):
    """A protrusion reaching the counter electrode: shorted from t = 0, and one step later the
    counter electrode carries the electronic current of the Li bridge, orders of magnitude above
    the ionic current of the unshorted cell, and the Li phase carries all of it."""
    root = Path(MPI.COMM_WORLD.bcast(str(tmp_path_factory.mktemp("dps")), root=0))
    cfg = tiny(protrusions=1, protrusion_length="14 um", steps_after_short=1, figure=False, snapshot_times=["0.1 s"])
    res, _ = _run(cfg, root, "short")
    assert res["short_time_s"] == 0.0 and res["ended"] == "short"
    free, _, _ = dp.simulate(tiny(t_end="0.1 s", snapshot_times=["0.1 s"]), MPI.COMM_WORLD, prefix="dp_free_")
    assert res["leakage_max_A_m2"] > 100 * free["leakage_max_A_m2"]
    # the counter current of the bridged cell is electronic (carried by the Li phase); the free
    # cell's is ionic but for the SE's own electronic conduction (3.2e-7 S/m against 0.2 S/m for Li+)
    assert res["electronic_fraction_final"] > 0.99
    assert free["electronic_fraction_max"] < 1e-4 and free["short_time_s"] is None


def test_li_touching_only_the_counter_electrode_is_no_short(monkeypatch):
    """A Li island on the counter electrode, 23 um of SE from the flat anode, strips into it: the
    counter current is then mostly electronic, yet no electrons cross the SE, so it is no
    electronic short (the criterion is the electron current through every slab of the SE, not the
    electronic share at the counter electrode). The forced short's electrons do cross: through
    every slab the bridge carries the counter electrode's electronic current. (Closer than ~18 um
    the island's and the anode's diffuse tails, h(xi) sigma_Li, would conduct electrons across.)
    Measured: electronic 3.1x the counter current (the island strips, the SE beside it takes Li+
    back); the least through a slab is -0.9 % of it (in the island's slab its electrons run to the
    counter electrode). The bridge's through-current is its electronic current to 1e-7."""
    base = dp.initial_xi

    def with_island(cfg, width):
        xi0 = base(cfg, width)
        # a 3 x 4 um block on the counter face
        edge = cfg.li_thickness + cfg.se_thickness - 3 * dp.UM

        def xi(x):
            level = np.maximum(edge - x[0], np.abs(x[1] - 0.5 * cfg.height) - 2 * dp.UM)
            return np.maximum(xi0(x), 0.5 * (1 - np.tanh(level / width)))
        return xi

    monkeypatch.setattr(dp, "initial_xi", with_island)
    cfg = tiny(protrusions=0, se_thickness="26 um", t_end="0.4 ms", dt0="0.4 ms", dt_max="0.4 ms",
               snapshot_times=["0.4 ms"], figure=False)  # one step: the isolated island then collapses the step
    res, rows, _ = dp.simulate(cfg, MPI.COMM_WORLD, prefix="dp_island_")
    last = rows[-1]
    assert res["ended"] == "t_end" and res["short_time_s"] is None and res["max_dead_li_volume_um2"] > 5
    assert last["electronic_fraction"] > 0.5  # the island's electrons leave into the counter electrode
    assert last["electronic_through_current_density"] < 0.02 * last["leakage_current_density"]

    monkeypatch.setattr(dp, "initial_xi", base)
    cfg = tiny(protrusions=1, protrusion_length="14 um", steps_after_short=1, figure=False, snapshot_times=["0.1 s"])
    _, rows, _ = dp.simulate(cfg, MPI.COMM_WORLD, prefix="dp_bridge_")
    assert rows[-1]["electronic_through_current_density"] == pytest.approx(rows[-1]["electronic_current_density"],
                                                                           rel=1e-6)


def test_series_resistance_caps_a_forced_short():
    """The forced short behind a 0.1 ohm cm^2 series resistance (fingers-regime kinetics): the
    bridge carries the electronic current V/R_s = 3.5e4 A/m^2 (its own resistance is ~1e-12
    ohm m^2), the metal floats to the counter potential, and the run goes on past the short (0.5 s
    here) instead of collapsing its step: without pressure the short holds (hard). Measured: the
    anode 1.2e-7 V from 0, electronic current 3.502e4 A/m^2 at 0.56 s (the bridge strips 16 A/m^2)."""
    cfg = tiny(protrusions=1, protrusion_length="14 um", series_resistance="0.1 ohm*cm^2", steps_after_short=1,
               time_after_short="0.5 s", t_end="1 s", snapshot_times=["0.5 s"], figure=False,
               curvature_fraction=0.0, reaction_constant=0.054, deposition_strain=1e-2, misfit_relaxation=0.98)
    res, rows, _ = dp.simulate(cfg, MPI.COMM_WORLD, prefix="dp_series_")
    assert res["short_time_s"] == 0.0 and res["ended"] == "short" and res["t_final_s"] >= 0.5
    assert res["hard_short_limit_A_m2"] == pytest.approx(3.5e4)
    assert -rows[-1]["anode_current"] / cfg.height == pytest.approx(3.5e4, rel=1e-3)
    assert res["electronic_final_A_m2"] == pytest.approx(3.5e4, rel=1e-2)
    assert abs(rows[-1]["anode_potential"]) < 1e-3  # the applied 0.35 V drops across R_s
    assert 0 < res["cell_resistance_final_ohm_cm2"] < 1e-4  # the bridge: metal
    assert res["short_kind"] == "hard" and res["short_openings"] == 0


def test_short_behaviour_tells_hard_from_soft():
    """The classification of the leakage after the first short, on synthetic histories."""
    cfg = tiny(series_resistance="0.1 ohm*cm^2")

    def rows(currents):
        return [{"t": float(k), "electronic_current_density": c} for k, c in enumerate(currents)]

    hard = dp.short_behaviour(cfg, rows([1e-2, 3e4, 3.4e4, 3.3e4, 3.5e4]), 1.0)
    assert hard["short_kind"] == "hard" and hard["short_openings"] == 0
    assert hard["electronic_after_short_min_A_m2"] == pytest.approx(3e4) and hard["time_after_short_s"] == 3
    soft = dp.short_behaviour(cfg, rows([1e-2, 3e4, 9e3, 2e3, 2.5e4, 1e4, 3e4]), 1.0)
    assert soft["short_kind"] == "soft" and soft["short_openings"] == 2
    assert soft["electronic_after_short_min_A_m2"] == pytest.approx(2e3)
    # settled: over the second half of the 5 s after the short (t >= 3.5 s: 2.5e4, 1e4, 3e4)
    assert soft["electronic_settled_min_A_m2"] == pytest.approx(1e4)
    assert soft["electronic_settled_max_A_m2"] == pytest.approx(3e4)
    partial = dp.short_behaviour(cfg, rows([1e-2, 2e4, 2.4e4, 2.3e4]), 1.0)  # holds at 2/3 of V/R_s
    assert partial["short_kind"] == "partial" and partial["short_openings"] == 0
    assert partial["stall_law_current_A_m2"] is None  # no Li pressure in these rows
    # the stall law: at 10 MPa in the Li (eps0 = 1e-2, Chen's L_eta) Li stalls at
    # eta* = -2 V_T asinh(L_sigma 3 eps0 p/(2 L_eta)) = -0.310 V, and the short settles at (eta* - V)/R_s
    loaded = rows([1e-2, 2e4, 2.4e4, 2.3e4])
    loaded[-1]["pressure_li_mean"] = 10e6
    law = dp.short_behaviour(cfg, loaded, 1.0)
    par = cfg.parameters()
    eta = -2 * par.thermal_voltage * math.asinh(par.interface_mobility * 3 * 1e-2 * 10e6 / (2 * par.reaction_constant))
    assert law["stall_overpotential_V"] == pytest.approx(eta, rel=1e-9) and eta == pytest.approx(-0.310, abs=1e-3)
    assert law["stall_law_current_A_m2"] == pytest.approx((eta + 0.35) / 1e-5, rel=1e-9)
    assert dp.stall_law(tiny(), 10e6)["stall_law_current_A_m2"] is None  # an ideal collector: no level
    none = dp.short_behaviour(cfg, rows([1e-2, 2e-2]), None)
    assert none["short_kind"] is None and none["hard_short_limit_A_m2"] == pytest.approx(3.5e4)


def test_pore_wall_band_covers_the_rings_around_the_pores():
    """The cells counted as "along a pore wall" (outside every pore, within pore_wall_band of one,
    beyond the Li surface) cover the area of the rings around the pores clipped to the SE, sampled
    on a fine grid independently of the mesh (to the cell size at the ring's edges: 10 %). Measured
    with a 1 um band: 18.3 against 19.4 um^2. Li put into the largest pore (r = 1.6 um) fills it
    and its core, not the walls outside."""
    cfg = tiny(pore_wall_band="1 um")
    cell = dp.build_cell(cfg, MPI.COMM_WORLD, prefix="dp_band_")
    diag = dp.Diagnostics(cfg, cell)
    meshed = diag._sum(diag.vol * diag.wall_band)
    centres, radii = cfg.porous().pores(2)
    x0 = cfg.li_thickness + 0.5 * cfg.interface_width
    xs = np.linspace(x0, cfg.li_thickness + cfg.se_thickness, 1200)
    ys = np.linspace(0, cfg.height, 800)
    X, Y = np.meshgrid(xs, ys)
    gap = np.min(np.hypot(X[..., None] - centres[:, 0], Y[..., None] - centres[:, 1]) - radii, axis=-1)
    sampled = np.mean((gap > 0) & (gap < 1e-6)) * (xs[-1] - xs[0]) * cfg.height
    assert sampled > 0
    assert meshed == pytest.approx(sampled, rel=0.1), (meshed, sampled)
    # Li filling the largest pore, and nothing else: that pore is full, its core holds Li over the
    # core's area (pi (r - band)^2 to the cell size) and none of it counts as along a wall (the
    # step reaches 0.1 um past the wall so that round-off at the wall's nodes decides nothing)
    (cx, cy), r = centres[0], radii[0]
    cell.pf.w.sub(0).interpolate(lambda x: (np.hypot(x[0] - cx, x[1] - cy) < r + 0.1e-6).astype(float))
    cell.pf.w.x.scatter_forward()
    m = diag.measure()
    core = math.pi * (r - 1e-6) ** 2
    cell.pf.close()
    assert m["pore_fill_max"] == pytest.approx(1.0, abs=1e-12), m["pore_fill_max"]
    assert m["li_in_pore_cores_volume"] == pytest.approx(core, rel=0.1), (m["li_in_pore_cores_volume"], core)
    # (the P1 step spills over one cell outside: 2.0 um^2, against 6.8 um^2 in the inner ring)
    assert m["li_along_pore_walls_volume"] < 0.5 * (math.pi * r**2 - core)


def test_evolving_pores():
    """pore_evolution = "cahn_hilliard": the tiny cell with pores that evolve by Cahn-Hilliard
    (M = 1e-19 m^5/(J s), assumed) while Li plates. The SE volume int rho stays put to round-off
    while the pore area (cells with rho < 1/2) changes: these pores, 3 um across or two interface
    widths, are small enough for the conserved field to spread their deficit over the SE. Measured:
    drift 4e-15; pore area 9.5 -> 6.6 um^2 in 0.4 s; Li grown 4.9 um^2 (5.6 with static pores)."""
    static, _, _ = dp.simulate(tiny(figure=False), MPI.COMM_WORLD, prefix="dp_static_")
    cfg = tiny(pore_evolution="cahn_hilliard", pore_mobility="1e-19 m^5/(J*s)", figure=False)
    res, rows, _ = dp.simulate(cfg, MPI.COMM_WORLD, prefix="dp_pores_")
    assert "se_volume_drift" not in static
    assert res["se_volume_drift"] < 1e-12
    assert res["pore_area_final_um2"] < 0.9 * rows[0]["pore_area"] / dp.UM**2
    assert 0 < res["li_grown_volume_um2"] != pytest.approx(static["li_grown_volume_um2"], rel=1e-3)


def _history(path: Path) -> np.ndarray:
    keys = ("t", "li_volume", "plating_current", "leakage_current_density", "electronic_current_density",
            "pressure_li_mean", "newton")
    with open(path / "history.csv") as f:
        return np.array([[float(r[k]) for k in keys] for r in csv.DictReader(f)])


def test_a_restart_goes_on_where_the_run_left(tmp_path_factory):
    """``checkpoint_interval`` saves the state with the history, the short bookkeeping, the figure
    snapshots and the step the run would take next; ``restart_from`` goes on from there, so the
    restarted run's history is the uninterrupted run's, row by row. ``restart_from = "latest"``
    finds the newest checkpoint of a run that was killed (its .partial folder, which the next run
    moves to .interrupted), and starts at t = 0 when there is none. A checkpoint of another cell,
    one without its snapshots, or one already at t_end, is refused before any solve."""
    comm = MPI.COMM_WORLD
    root = Path(comm.bcast(str(tmp_path_factory.mktemp("dp_restart")), root=0))
    case = {"external_pressure": "5 MPa", "t_end": "0.6 s", "dt_max": "0.1 s", "figure": False}
    whole, path = _run(tiny(**case, checkpoint_interval="0.2 s"), root, "whole")
    saved = sorted((path / "checkpoints").glob("phase_field_t*.npz"), key=lambda f: checkpoint_meta(f)["t"])
    times = [checkpoint_meta(f)["t"] for f in saved]  # one past each multiple of 0.2 s and the end
    assert len(saved) == 3 and times[-1] == pytest.approx(0.6) and all(np.diff(times) > 0)
    mid = saved[0]
    rest, rest_path = _run(tiny(**case, restart_from=str(mid)), root, "rest")
    t0 = rest["restart_time_s"]
    assert 0.2 <= t0 < 0.4 and rest["restarted_from"] == str(mid)
    a, b = _history(path), _history(rest_path)
    assert a.shape == b.shape and np.count_nonzero(a[:, 0] > t0) >= 2
    assert np.allclose(a, b, rtol=1e-9, atol=0, equal_nan=True)
    for key in ("li_grown_volume_um2", "leakage_final_A_m2", "pressure_li_mean_final_MPa", "newton_iterations",
                "steps", "t_final_s"):
        assert rest[key] == pytest.approx(whole[key], rel=1e-9), key
    with np.load(path / "snapshots.npz") as s, np.load(rest_path / "snapshots.npz") as r:
        assert np.array_equal(s["times"], r["times"]) and np.allclose(s["xi_1"], r["xi_1"], rtol=1e-9)

    # a job killed after its first checkpoint, then run again with restart_from = "latest"
    killed = root / "dendrite_pressure" / "again.partial"
    if comm.rank == 0:
        shutil.copytree(path, killed)
        for f in saved[1:]:
            (killed / "checkpoints" / f.name).unlink()
    comm.Barrier()
    again, again_path = _run(tiny(**case, restart_from="latest"), root, "again")
    assert again["restarted_from"] == str(root / "dendrite_pressure" / "again.interrupted" / "checkpoints" / mid.name)
    assert np.allclose(_history(again_path), a, rtol=1e-9, atol=0, equal_nan=True)
    assert not killed.exists() and not killed.with_suffix(".interrupted").exists()

    fresh, _, _ = dp.simulate(tiny(**case, restart_from="latest"), comm)  # nothing earlier: from t = 0
    assert fresh["restarted_from"] is None and fresh["steps"] == whole["steps"]
    with pytest.raises(ValueError, match="seed"):
        dp.simulate(tiny(seed=2, restart_from=str(mid)), comm)
    alone = root / "alone" / mid.name  # a checkpoint copied without the snapshots beside it
    if comm.rank == 0:
        alone.parent.mkdir()
        shutil.copy(mid, alone)
    comm.Barrier()
    with pytest.raises(ValueError, match="snapshot"):
        dp.simulate(tiny(**case, restart_from=str(alone)), comm)
    with pytest.raises(ValueError, match="t_end"):
        dp.simulate(tiny(**{**case, "restart_from": str(saved[-1])}), comm)


def test_same_answer_on_one_and_two_ranks():
    cfg = tiny(external_pressure="5 MPa", t_end="0.2 s", snapshot_times=["0.2 s"])
    a, b = (dp.simulate(cfg, comm, prefix=f"dp_parity{k}_")[0] for k, comm in enumerate((MPI.COMM_SELF,
                                                                                           MPI.COMM_WORLD)))
    assert a["steps"] == b["steps"] and a["newton_iterations"] == b["newton_iterations"]
    for key in ("li_grown_volume_um2", "leakage_final_A_m2", "plating_final_A_m2", "pressure_li_mean_final_MPa",
                "pressure_se_mean_final_MPa"):
        assert a[key] == pytest.approx(b[key], rel=1e-7), key
    for key in ("pressure_li_peak_MPa", "li_front_um"):  # cell-wise maxima: the same cells
        assert a[key] == pytest.approx(b[key], rel=1e-9), key
    verdict = MPI.COMM_WORLD.allgather(json.dumps([a["steps"], a["short_time_s"]]))
    assert len(set(verdict)) == 1
