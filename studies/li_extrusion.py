"""# Study `li_extrusion`: Li pressed into a micrometre pore (graphite interlayer) for 3 minutes

Status: work in progress, not registered with the CLI. Below the flow threshold it runs; above it
(the interesting range) the Newton solve at the sharp pore mouth is not yet robust.

What is simulated: a Li reservoir (the foil) on top of one pore of a porous graphite interlayer,
pressed by the stack pressure p on its top face (DESIGN.md section 1, M1). The pore is a straight
tube (axisymmetric) or a tortuous zig-zag slit (plane), 25 um deep, 0.5-3 um wide. For every pore
(shape, diameter d) and every pressure the Li front is followed for ``hold_time`` (3 min); the
output is the extrusion depth vs time and the depth after the hold vs p per pore size.

Model (ssbx.fem.viscoplastic_flow, ssbx.fem.li_creep):
* Li is an incompressible Perzyna / Herschel-Bulkley viscoplastic material: rate = B <sigma_e -
  sigma_y>^n with Li's n = 6.6, Q = 37 kJ/mol and A fitted to Masias' creep rates.
* Size effect (Xu 2017): sigma_y(l) = 0.8 MPa + 99.2 MPa (1.4 um / l)^0.68, where l is the size of
  the deforming region: l = d inside the pore, and l = d + k * (distance from the pore mouth) in
  the reservoir (the plastic zone feeding an orifice scales with the distance to it; k =
  ``size_effect.process_zone_growth``, assumed). This makes entering a pore a threshold process:
  the Li must be pushed through the mouth at the micrometre-scale strength.
* Pore walls and the graphite face under the reservoir: no penetration, frictionless by default
  (assumed; ``wall_shear_strength`` adds a Tresca limit). Inside a straight pore the
  micrometre-strong Li then moves as a rigid plug; in a tortuous pore it must bend at every corner
  at the micrometre-scale strength, which is what tortuosity costs.
* Calibration: with Xu's strength at l = d the threshold of a 1.5 um pore would be ~3 sigma_y(d)
  ~ 280 MPa (extrusion through an orifice needs ~3x the flow stress); the measured ~100 MPa is
  matched by taking the deforming region at the mouth as lambda d with lambda =
  ``size_effect.mouth_zone_factor`` = 4 (one calibrated, assumed number).
* Free surface: the pore is meshed in full; the part ahead of the front is a void pseudo-fluid
  that leaves through the open pore bottom. The front is marched along the pore centre line: at
  front position s the quasi-steady flow gives the Li flux Q into the pore, the front speed is
  Q / (pore cross-section) (volume conservation, flat front), and the time to advance is the
  trapezoidal integral of ds / speed. Where the speed vanishes (yield/friction threshold) the
  front stops.

Outputs: ``depth_vs_time.csv``, ``depth_after_hold.csv`` (shape, d, p, depth), ``fields.bp/.pvd``
(velocity, pressure, fill, yield stress, equivalent stress for the field case at each front
position), ``li_extrusion.png`` (depth after the hold vs pressure per pore size, and depth vs time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import default_scalar_type, fem
from dolfinx.mesh import compute_midpoints
from ssbx.fem.boundary import FixedComponent, NormalPressure, integrate
from ssbx.fem.io import FieldWriter, ResultDir, write_csv_atomic
from ssbx.fem.li_creep import FORMS, SizeDependentYield, creep_law_for
from ssbx.fem.timestepping import StepControl, run_adaptive
from ssbx.fem.viscoplastic_flow import FlowDivergedError, ViscoplasticFlow, Wall
from ssbx.geometries import AXISYMMETRIC, PLANE
from ssbx.geometries.pore_channel import SHAPES, PoreChannel, build_pore_channel
from ssbx.studies.config import choice, choices, quantities, quantity

from ssbx.log import get_logger

DESCRIPTION = "Li creeping into a micrometre pore under stack pressure: extrusion depth after 3 min"
log = get_logger(__name__)


@dataclass(frozen=True)
class SizeEffect:
    enabled: bool = True
    bulk_yield: float = quantity(0.8e6, "pressure", doc="Masias 2019")
    reference_yield: float = quantity(100e6, "pressure", doc="Xu 2017, 1.4 um pillar")
    reference_size: float = quantity(1.4e-6, "length")
    exponent: float = 0.68  # Xu 2017, room temperature
    mouth_zone_factor: float = 4.0  # deforming region at the pore = lambda d (calibrated, see module doc)
    process_zone_growth: float = 2.0  # l = lambda d + k * distance from the mouth (assumed)

    def __post_init__(self):
        if not self.exponent > 0:
            raise ValueError(f"size_effect.exponent must be positive, got {self.exponent}")
        if not self.mouth_zone_factor >= 1:
            raise ValueError(f"size_effect.mouth_zone_factor must be >= 1, got {self.mouth_zone_factor}")
        if not self.process_zone_growth >= 0:
            raise ValueError(f"size_effect.process_zone_growth must be >= 0, got {self.process_zone_growth}")
        if self.reference_yield < self.bulk_yield:
            raise ValueError("size_effect.reference_yield must be >= size_effect.bulk_yield")

    def law(self) -> SizeDependentYield:
        return SizeDependentYield(self.bulk_yield, self.reference_yield, self.reference_size, self.exponent)


@dataclass(frozen=True)
class Config:
    material: str = choice("li", ("li", "li_mg10"))
    temperature: float = quantity(298.15, "temperature")
    creep_form: str = choice("norton", FORMS)
    hold_time: float = quantity(180.0, "time", doc="3 min cold press")
    pressures: tuple = quantities((0.0, 50e6, 75e6, 100e6, 125e6, 150e6, 200e6, 250e6, 300e6),
                                  "pressure", "nonnegative")
    pore_diameters: tuple = quantities((0.5e-6, 1.0e-6, 1.5e-6, 2.0e-6, 3.0e-6), "length")
    shapes: tuple = choices(("straight", "tortuous"), SHAPES,
                            doc="straight: axisymmetric tube; tortuous: plane zig-zag slit")
    tortuosity: float = 1.5
    pore_depth: float = quantity(25e-6, "length")
    reservoir_width_factor: float = 6.0  # reservoir width / pore diameter
    reservoir_height_factor: float = 3.0
    wall_shear_strength: float = quantity(0.0, "pressure", "nonnegative",
                                          doc="Tresca limit on pore walls; 0 = frictionless (assumed)")
    cells_per_diameter: int = 6
    rigid_rate: float = quantity(1e-6, "strain_rate")
    initial_depth: float = 0.25  # meniscus start inside the mouth, in pore diameters
    front_step: float = 0.15  # relative growth of the front step after an easy solve
    field_pressure: float = quantity(200e6, "pressure", doc="case written as fields")
    field_diameter: float = quantity(1.5e-6, "length")
    size_effect: SizeEffect = field(default_factory=SizeEffect)
    figure: bool = True

    def __post_init__(self):
        if self.tortuosity < 1:
            raise ValueError(f"tortuosity must be >= 1, got {self.tortuosity}")
        if self.reservoir_width_factor <= 2 * self.tortuosity or self.reservoir_height_factor <= 0:
            raise ValueError("reservoir_width_factor must exceed 2 x tortuosity and reservoir_height_factor be > 0")
        if self.cells_per_diameter < 2:
            raise ValueError(f"cells_per_diameter must be >= 2, got {self.cells_per_diameter}")
        if not (0 < self.initial_depth and self.initial_depth * max(self.pore_diameters) < self.pore_depth):
            raise ValueError("initial_depth must be positive and leave the front inside the pore")
        if not 0 < self.front_step <= 1:
            raise ValueError(f"front_step must lie in (0, 1], got {self.front_step}")


# -- geometry helpers (cell-wise arc length along the pore and distance from the mouth) ---------
def _cell_midpoints(msh) -> np.ndarray:
    tdim = msh.topology.dim
    n = msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts
    return compute_midpoints(msh, tdim, np.arange(n, dtype=np.int32))


def arc_length(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Arc length (from the mouth) of the closest point on polyline ``line`` to each point."""
    best_d = np.full(len(points), np.inf)
    best_s = np.zeros(len(points))
    s0 = 0.0
    for a, b in zip(line[:-1], line[1:], strict=False):
        ab = b - a
        length = float(np.hypot(*ab))
        t = np.clip(((points[:, :2] - a) @ ab) / length**2, 0.0, 1.0)
        d = np.hypot(*(points[:, :2] - (a + t[:, None] * ab)).T)
        better = d < best_d
        best_d[better], best_s[better] = d[better], s0 + t[better] * length
        s0 += length
    return best_s


class PoreFill:
    """Li fraction per cell: reservoir full, pore filled up to the front arc length s_f."""

    def __init__(self, tm, line: np.ndarray, h: float, mid: np.ndarray):
        self.fn = fem.Function(fem.functionspace(tm.mesh, ("DG", 0)), name="fill")
        self.s = np.full(len(mid), -1.0)
        chan = tm.cells("channel")
        self.s[chan] = arc_length(mid[chan], line)
        self.h = h

    def set_front(self, s_front: float) -> None:
        # a one-cell ramp keeps the fill (and the flow) continuous in the front position
        frac = np.clip((s_front - self.s) / self.h + 0.5, 0.0, 1.0)
        frac[self.s < 0] = 1.0
        self.fn.x.array[:] = frac
        self.fn.x.scatter_forward()


def process_zone_size(tm, mid: np.ndarray, d: float, factor: float, growth: float) -> np.ndarray:
    """Size of the deforming region per cell: lambda d in the pore, lambda d + k * distance from
    the mouth above it."""
    half = 0.5 * d * (tm.info.get("mouth_area", d) / d if tm.kind == PLANE else 1.0)
    x = np.abs(mid[:, 0])
    dist = np.hypot(np.maximum(x - half, 0.0), np.maximum(mid[:, 1], 0.0))
    size = factor * d + growth * dist
    size[tm.cells("channel")] = factor * d
    return size


# -- one pore: march the front for each pressure -------------------------------------------------
@dataclass
class PoreRun:
    shape: str
    diameter: float
    pressure: float
    times: list
    depths: list
    depth_after_hold: float
    newton_iterations: int
    solves: int
    balance_error: float  # |Q_top - Q_mouth| / Q_mouth, max over the march


class PoreModel:
    """Mesh, fields and flow problem of one pore; :meth:`march` runs one pressure."""

    def __init__(self, cfg: Config, comm: MPI.Comm, shape: str, d: float, tag: str = ""):
        kind = AXISYMMETRIC if shape == "straight" else PLANE
        params = PoreChannel(pore_diameter=d, pore_depth=cfg.pore_depth,
                             reservoir_width=cfg.reservoir_width_factor * d,
                             reservoir_height=cfg.reservoir_height_factor * d,
                             shape=shape, tortuosity=cfg.tortuosity, kind=kind)
        h = d / cfg.cells_per_diameter
        tm = build_pore_channel(comm, params, mesh_size=h)
        self.cfg, self.tm, self.shape, self.d = cfg, tm, shape, d
        self.line = np.asarray(tm.info["centreline"])
        self.length = float(tm.info["centreline_length"])
        # the front advances along the centre line; the flux crosses the pore section
        self.section = math.pi * d**2 / 4 if kind == AXISYMMETRIC else d
        mid = _cell_midpoints(tm.mesh)
        self.fill = PoreFill(tm, self.line, h, mid)
        law = creep_law_for(cfg.material, cfg.temperature, cfg.creep_form, where="material")
        V0 = self.fill.fn.function_space
        self.yield_stress = fem.Function(V0, name="yield_stress")
        if cfg.size_effect.enabled:
            size = process_zone_size(tm, mid, d, cfg.size_effect.mouth_zone_factor, cfg.size_effect.process_zone_growth)
            self.yield_stress.x.array[:] = cfg.size_effect.law()(size)
        else:
            self.yield_stress.x.array[:] = cfg.size_effect.bulk_yield
        self.pressure = fem.Constant(tm.mesh, default_scalar_type(0.0))
        condition = "friction" if cfg.wall_shear_strength > 0 else "slip"
        walls = [Wall(("channel_wall", "reservoir_bottom"), condition, cfg.wall_shear_strength)]
        sides = ("axis", "reservoir_outer") if kind == AXISYMMETRIC else ("reservoir_left", "reservoir_right")
        fixed = [FixedComponent(sides, 0)]
        self.flow = ViscoplasticFlow(
            tm, law, yield_stress=self.yield_stress, fill=self.fill.fn, walls=walls, fixed=fixed,
            pressures=[NormalPressure(("reservoir_top",), self.pressure)], rigid_rate=cfg.rigid_rate,
            length_scale=d, stress_scale=1e6, prefix=f"extrusion{tag}_", solver_overrides={"snes_max_it": 50})
        self.top_area = integrate(tm, 1.0, facets=["reservoir_top"])

    def front_speed(self, s: float, pressure: float | None = None) -> tuple[float, float, int]:
        """Solve the flow with the front at s: (front speed m/s, flux balance error, Newton its).
        With ``pressure`` the load is ramped up to it from the current (converged) state."""
        self.fill.set_front(s)
        target = float(self.pressure.value) if pressure is None else pressure
        its = 0
        if pressure is None:
            try:
                its = self.flow.solve()  # warm start from the previous front position
            except FlowDivergedError:
                pressure = target
        if pressure is not None:
            # from the unloaded state, ramping the load (robust near the flow threshold)
            self.pressure.value = 0.0
            self.flow.w.x.array[:] = 0.0
            its += self.flow.solve_continuation(self.pressure, target)
        q_mouth = self.flow.flux(["reservoir_channel_interface"], (0.0, -1.0), interior=True)
        q_top = self.flow.flux(["reservoir_top"], (0.0, -1.0))
        balance = abs(q_top - q_mouth) / max(abs(q_mouth), 1e-300)
        return max(q_mouth, 0.0) / self.section, balance, its

    def march(self, pressure: float, on_front=None, checkpoint_dir=None) -> PoreRun:
        """Advance the front from the mouth for ``hold_time`` at ``pressure``.

        The front position s plays the role of time in :func:`run_adaptive`: a flow solve that
        fails cuts the front step, repeated failure saves a checkpoint and stops with a message."""
        cfg = self.cfg
        self.pressure.value = 0.0
        self.flow.w.x.array[:] = 0.0  # the exact (rigid, unloaded) state at zero pressure
        s0 = cfg.initial_depth * self.d
        st = {"s": s0, "t": 0.0, "v": 0.0, "its": 0, "solves": 1, "bal": 0.0, "done": False}
        st["v"], bal, st["its"] = self.front_speed(s0, pressure)
        times, depths = [0.0], [0.0]
        saved = self.flow.w.x.array.copy()
        pending = {}
        if on_front:
            on_front(0.0)

        def advance(s, ds):
            try:
                v_new, bal, its = self.front_speed(s + ds)
            except FlowDivergedError:
                return False
            st["its"] += its
            st["solves"] += 1
            pending.update(v=v_new, bal=bal, ds=ds, its=its)
            return True

        def accept(s_new):
            ds, v0, v1 = pending["ds"], st["v"], pending["v"]
            # dt = integral of ds / v with 1/v linear in s (trapezoid); v = 0: the front stops here
            inv0, inv1 = 1.0 / v0, (1.0 / v1 if v1 > 0 else math.inf)
            dt = 0.5 * ds * (inv0 + inv1)
            if st["t"] + dt >= cfg.hold_time:
                # the hold ends inside this step: solve t + inv0 x + (inv1 - inv0) x^2 / (2 ds) = hold
                rem = cfg.hold_time - st["t"]
                a, b = (0.0 if math.isinf(inv1) else (inv1 - inv0) / (2 * ds)), inv0
                x = min(rem / b, ds) if abs(a) < 1e-300 else (-b + math.sqrt(b * b + 4 * a * rem)) / (2 * a)
                st.update(s=st["s"] + x, t=cfg.hold_time, done=True)
            else:
                st.update(s=s_new, t=st["t"] + dt, v=v1, bal=max(st["bal"], pending["bal"]))
                st["done"] = v1 <= 0
            saved[:] = self.flow.w.x.array
            times.append(st["t"])
            depths.append(st["s"] - s0)
            if on_front:
                on_front(st["t"])

        def reject():
            self.flow.w.x.array[:] = saved

        def save(s):
            if checkpoint_dir is None:
                return "(no checkpoint directory)"
            from ssbx.fem.io import save_checkpoint

            path = Path(checkpoint_dir) / f"checkpoint_{self.shape}_{self.d * 1e6:g}um_{pressure / 1e6:g}MPa"
            save_checkpoint(path, {"flow": self.flow.w}, {"front": s, "time": st["t"], "pressure": pressure})
            return str(path)

        if st["v"] > 0 and s0 < self.length:
            h = self.fill.h
            control = StepControl(dt0=0.5 * h, dt_min=1e-3 * h, dt_max=max(cfg.front_step * self.length, h),
                                  grow=1 + cfg.front_step, easy_iterations=40)
            run_adaptive(s0, self.length, control, advance, accept, reject, save,
                         iterations=lambda: pending.get("its", 0), stop=lambda: st["done"])
        if not st["done"] and st["s"] < self.length * (1 - 1e-9):
            # no flow at all (below the threshold): the front creeps at the rigid-limit rate
            depth = min(st["v"] * cfg.hold_time, self.length - s0)
            times.append(cfg.hold_time)
            depths.append(depth if len(depths) == 1 else depths[-1])
        return PoreRun(self.shape, self.d, pressure, times, depths, depths[-1], st["its"], st["solves"], st["bal"])


def _field_functions(model: PoreModel):
    msh = model.tm.mesh
    gdim = msh.geometry.dim
    u1 = fem.Function(fem.functionspace(msh, ("Lagrange", 1, (gdim,))), name="velocity")
    p1 = fem.Function(fem.functionspace(msh, ("Lagrange", 1)), name="pressure")
    V0 = model.fill.fn.function_space
    se = fem.Function(V0, name="von_mises")
    se_expr = fem.Expression(ufl.sqrt(1.5 * ufl.inner(model.flow.stress(), model.flow.stress())),
                             V0.element.interpolation_points)
    u_expr = fem.Expression(model.flow.velocity(), u1.function_space.element.interpolation_points)
    p_expr = fem.Expression(model.flow.pressure(), p1.function_space.element.interpolation_points)

    def update():
        u1.interpolate(u_expr)
        p1.interpolate(p_expr)
        se.interpolate(se_expr)

    return [u1, p1, model.fill.fn, model.yield_stress, se], update


def run(cfg: Config, comm: MPI.Comm, out: ResultDir) -> dict:
    rows_t, rows_h = [], []
    runs: list[PoreRun] = []
    field_written = False
    for shape in cfg.shapes:
        for d in cfg.pore_diameters:
            model = PoreModel(cfg, comm, shape, d, tag=f"_{shape}_{len(runs)}")
            for p in cfg.pressures:
                write_fields = (not field_written and math.isclose(d, cfg.field_diameter, rel_tol=1e-9)
                                and math.isclose(p, cfg.field_pressure, rel_tol=1e-9))
                if write_fields:
                    funcs, update = _field_functions(model)
                    with FieldWriter(comm, out.file(f"fields_{shape}"), funcs) as writer:
                        def on_front(t, update=update, writer=writer):
                            update()
                            writer.write(t)
                        r = model.march(p, on_front)
                    field_written = shape == cfg.shapes[-1]
                else:
                    r = model.march(p)
                runs.append(r)
                log.info("%s pore d = %.2f um, p = %5.0f MPa: depth after %.0f s = %.2f um (%d solves)",
                         shape, d * 1e6, p / 1e6, cfg.hold_time, r.depth_after_hold * 1e6, r.solves)
                rows_t += [{"shape": shape, "pore_diameter": d, "pressure": p, "time": t, "depth": z}
                           for t, z in zip(r.times, r.depths, strict=False)]
                rows_h.append({"shape": shape, "pore_diameter": d, "pressure": p, "depth": r.depth_after_hold,
                               "filled": r.depth_after_hold >= cfg.pore_depth - cfg.initial_depth * d - 1e-12,
                               "solves": r.solves, "newton_iterations": r.newton_iterations,
                               "flux_balance_error": r.balance_error})
    if comm.rank == 0:
        write_csv_atomic(out.file("depth_vs_time.csv"), rows_t)
        write_csv_atomic(out.file("depth_after_hold.csv"), rows_h)
        if cfg.figure:
            plot_extrusion(rows_h, rows_t, cfg, out.file("li_extrusion.png"))
    comm.barrier()
    results = {"cases": len(runs), "newton_iterations": sum(r.newton_iterations for r in runs),
               "flow_solves": sum(r.solves for r in runs),
               "max_flux_balance_error": max(r.balance_error for r in runs)}
    for r in runs:
        results[f"depth_{r.shape}_{r.diameter * 1e6:g}um_{r.pressure / 1e6:g}MPa"] = r.depth_after_hold
    return results


def plot_extrusion(rows_h, rows_t, cfg: Config, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(cfg.pore_diameters)))
    styles = {"straight": ("-", "o"), "tortuous": ("--", "s")}
    for shape in cfg.shapes:
        for d, c in zip(cfg.pore_diameters, colors, strict=False):
            pts = sorted((r["pressure"], r["depth"]) for r in rows_h if r["shape"] == shape and r["pore_diameter"] == d)
            ls, mk = styles[shape]
            ax.plot([p / 1e6 for p, _ in pts], [z * 1e6 for _, z in pts], ls, marker=mk, color=c, ms=4,
                    label=f"{d * 1e6:g} um {shape}")
    ax.axhline(3, color="0.6", lw=0.8, ls=":")
    ax.axhline(cfg.pore_depth * 1e6, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("stack pressure (MPa)")
    ax.set_ylabel(f"extrusion depth after {cfg.hold_time:.0f} s (um)")
    ax.set_title("Li extrusion into interlayer pores")
    ax.legend(fontsize=7, ncol=2)
    d_show = min(cfg.pore_diameters, key=lambda d: abs(d - cfg.field_diameter))
    shape0 = cfg.shapes[0]
    for p, c in zip(cfg.pressures, plt.cm.magma(np.linspace(0, 0.85, len(cfg.pressures))), strict=False):
        pts = [(r["time"], r["depth"]) for r in rows_t if r["shape"] == shape0 and r["pore_diameter"] == d_show
               and r["pressure"] == p]
        if len(pts) > 1:
            ax2.plot([t for t, _ in pts], [z * 1e6 for _, z in pts], color=c, label=f"{p / 1e6:g} MPa")
    ax2.set_xlabel("time (s)")
    ax2.set_ylabel("depth (um)")
    ax2.set_title(f"{shape0} pore, d = {d_show * 1e6:g} um")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
