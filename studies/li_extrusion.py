"""# Study `li_extrusion`: Li pressed into a micrometre pore (graphite interlayer) for 3 minutes

What is simulated: a Li reservoir (the foil) on top of one pore of a porous graphite interlayer,
pressed by the stack pressure on its top face (DESIGN.md section 1, M1). The pore is a straight
tube (axisymmetric) or a tortuous zig-zag slit (plane), 25 um deep, 0.5-3 um wide. For every pore
(shape, diameter d) and every pressure the Li front is followed for ``hold_time`` (3 min); the
output is the extrusion depth vs time and the depth after the hold vs p per pore size.

Model (ssbx.fem.viscoplastic_flow, ssbx.fem.li_creep):
* Li is an incompressible Perzyna / Herschel-Bulkley viscoplastic material: rate = B <sigma_e -
  sigma_y>^n with Li's n = 6.6, Q = 37 kJ/mol and A fitted to Masias' creep rates.
* Size effect (Xu 2017): sigma_y(l) = 0.8 MPa + 99.2 MPa (1.4 um / l)^0.68, where l is the size of
  the deforming region: lambda d at the pore mouth and inside the pore, growing as lambda d + k *
  (distance from the mouth) in the reservoir (the plastic zone feeding an orifice scales with
  the distance to it; k = ``size_effect.process_zone_growth`` = 2, assumed). Entering a pore is
  therefore a threshold process: the Li must be pushed through the mouth at micrometre strength.
* Pore walls and the graphite face under the reservoir: no penetration (Nitsche) and a Tresca
  shear strength ``wall_shear_strength`` of Li on the walls; the plug of Li in the pore slides
  on it, so each micrometre filled costs 4 tau_w / d of pressure (tube) and the depth grows with
  the overpressure above the mouth threshold.
* Two calibrated numbers (assumed, documented): lambda = ``size_effect.mouth_zone_factor`` = 6
  puts the 1.5 um pore's threshold near the measured ~100 MPa (with lambda = 1 it would be
  ~3 sigma_y(d) ~ 280 MPa), and tau_w = 2.7 MPa lets that pore fill its 25 um at ~300 MPa. The
  dependence on pore size and tortuosity is then a prediction, not a fit.
* Free surface: the pore is meshed in full; the part ahead of the front is a void pseudo-fluid
  that leaves through the open pore bottom.

Method. The Li flow is quasi-steady (no inertia, elastic strains ~1e-4), so the state at front
position s is fixed by the front speed v. At a few front positions the plunger (reservoir top)
is driven at prescribed speeds over 7 decades and the stack pressure is the reaction it needs:
a pressure-speed curve P(s, v). Speed control is what makes the solves robust: under a prescribed
pressure above threshold a near-rigid-plastic flow is the ill-posed limit-load problem, while at
a prescribed speed the stresses stay bounded by the flow law. Each curve is stepped in log speed
by the adaptive stepper (cutback on divergence, checkpoint and message when it gives up). For a
stack pressure P the front speed at every position is the inverse of P(s, v) (linear in s
between the solved positions: exact for wall friction), and dt = ds / v integrates the depth
vs time (trapezoidal in 1/v). Below the slowest solved speed (``speed_min``, 18 nm in 3 min) the
front is held; above the fastest (``speed_max``) it moves at that speed (fills within 2.5 s).

Outputs: ``pressure_vs_speed.csv`` (shape, d, front, speed, pressure), ``depth_vs_time.csv``,
``depth_after_hold.csv`` (shape, d, p, depth below the mouth, advance along the pore, filled),
``fields_<shape>.bp/.pvd`` (velocity, pressure, fill, yield stress and von Mises stress of the
``field_diameter`` pore under
``field_pressure``, one frame per front position reached, at the time the front passes it),
``li_extrusion.png`` (depth after the hold vs pressure per pore size, and depth vs time).

Other pressures or hold times without a flow solve, from a finished run's curves:
``python -m ssbx.studies.li_extrusion results/li_extrusion/default --set hold_time=10min``.
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
from ssbx.fem.boundary import FixedComponent, integrate
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
    mouth_zone_factor: float = 6.0  # deforming region at the pore = lambda d (calibrated, see module doc)
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
    pressures: tuple = quantities((0.0, 50e6, 75e6, 100e6, 125e6, 150e6, 175e6, 200e6, 250e6, 300e6),
                                  "pressure", "nonnegative")
    pore_diameters: tuple = quantities((0.5e-6, 1.5e-6, 3.0e-6), "length")
    shapes: tuple = choices(("straight", "tortuous"), SHAPES,
                            doc="straight: axisymmetric tube; tortuous: plane zig-zag slit")
    tortuosity: float = 1.5
    pore_depth: float = quantity(25e-6, "length")
    reservoir_width_factor: float = 6.0  # reservoir width / pore diameter
    reservoir_height_factor: float = 3.0
    wall_shear_strength: float = quantity(2.7e6, "pressure", "nonnegative",
                                          doc="Tresca limit of Li on the pore walls (calibrated, see module doc)")
    cells_per_diameter: int = 4
    rigid_rate: float = quantity(1e-6, "strain_rate")
    initial_depth: float = 0.25  # meniscus start inside the mouth, in pore diameters
    front_positions: int = 4  # front positions along the pore at which the flow is solved
    speed_min: float = quantity(1e-10, "velocity", doc="slowest front speed solved: 18 nm in 3 min")
    speed_max: float = quantity(1e-5, "velocity", doc="fastest: 25 um in 2.5 s")
    max_newton_iterations: int = 100
    # near the size-dependent yield surface Newton cycles with full steps; the l2 line search
    # (minimising the residual norm along the step) needs about half the iterations
    line_search: str = choice("l2", ("l2", "basic", "bt", "cp"))
    slip_fraction: float = 0.1  # wall friction reaches its strength at slip > this x front speed
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
        if self.front_positions < 2:
            raise ValueError(f"front_positions must be >= 2, got {self.front_positions}")
        if not 0 < self.speed_min < self.speed_max:
            raise ValueError(f"need 0 < speed_min < speed_max, got {self.speed_min}, {self.speed_max}")
        if not 0 < self.slip_fraction < 1:
            raise ValueError(f"slip_fraction must lie in (0, 1), got {self.slip_fraction}")
        if self.max_newton_iterations < 1:
            raise ValueError(f"max_newton_iterations must be >= 1, got {self.max_newton_iterations}")


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


# -- front kinetics from pressure-speed curves (pure numpy) ---------------------------------------
@dataclass
class SpeedCurve:
    """Plunger pressure needed to push the front at position ``front`` with each of ``speeds``."""

    front: float
    speeds: np.ndarray  # m/s, increasing
    pressures: np.ndarray  # Pa, made non-decreasing
    newton_iterations: int
    leak: float  # max |Q_bottom - Q_top| / Q_top: flux lost through the walls (discretisation)

    def speed_at(self, pressure: float) -> float:
        """Front speed under ``pressure`` (0 below the slowest tabulated speed)."""
        return _invert(self.speeds, self.pressures, pressure)


def _invert(speeds: np.ndarray, pressures: np.ndarray, pressure: float) -> float:
    """Speed at which a (non-decreasing) pressure-speed table reaches ``pressure``: log-linear
    in speed; 0 below the table (the front is held), the fastest speed above it."""
    if pressure < pressures[0]:
        return 0.0
    if pressure >= pressures[-1]:
        return float(speeds[-1])
    return float(np.exp(np.interp(pressure, pressures, np.log(speeds))))


def front_history(curves: list[SpeedCurve], pressure: float, hold_time: float,
                  substeps: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Front position (from the first curve's front) vs time under a constant ``pressure``.

    The pressure needed at a given speed is interpolated linearly in the front position between
    the curves (exact for wall friction, which adds a pressure proportional to the filled
    length), then inverted for the speed at each of ``substeps`` positions; dt = ds / v is
    integrated with the trapezoidal rule in 1/v. The front stops where the speed vanishes; the
    march ends at ``hold_time`` or the last curve."""
    s_nodes = np.array([c.front for c in curves])
    lo = max(c.speeds[0] for c in curves)
    hi = min(c.speeds[-1] for c in curves)
    grid = np.logspace(math.log10(lo), math.log10(hi), max(2, int(20 * math.log10(hi / lo)) + 1))
    table = np.array([np.interp(np.log(grid), np.log(c.speeds), c.pressures) for c in curves])
    s = np.linspace(s_nodes[0], s_nodes[-1], substeps + 1)
    k = np.clip(np.searchsorted(s_nodes, s, side="right") - 1, 0, len(s_nodes) - 2)
    w = ((s - s_nodes[k]) / (s_nodes[k + 1] - s_nodes[k]))[:, None]
    p_at = np.maximum.accumulate((1 - w) * table[k] + w * table[k + 1], axis=1)
    v = np.array([_invert(grid, row, pressure) for row in p_at])
    times, depths = [0.0], [0.0]
    t = 0.0
    for k in range(substeps):
        if v[k] <= 0:
            break
        inv0, inv1 = 1.0 / v[k], (1.0 / v[k + 1] if v[k + 1] > 0 else math.inf)
        ds = s[k + 1] - s[k]
        dt = 0.5 * ds * (inv0 + inv1)
        if t + dt >= hold_time:
            # the hold ends inside this interval: t + inv0 x + (inv1 - inv0) x^2 / (2 ds) = hold
            rem = hold_time - t
            a = 0.0 if math.isinf(inv1) else (inv1 - inv0) / (2 * ds)
            if abs(a) * ds < 1e-12 * inv0:
                x = min(rem / inv0, ds)
            else:
                x = (-inv0 + math.sqrt(inv0**2 + 4 * a * rem)) / (2 * a)
            times.append(hold_time)
            depths.append(s[k] + min(x, ds) - s[0])
            return np.array(times), np.array(depths)
        t += dt
        times.append(t)
        depths.append(s[k + 1] - s[0])
    if times[-1] < hold_time:  # stopped (or filled): the depth stays for the rest of the hold
        times.append(hold_time)
        depths.append(depths[-1])
    return np.array(times), np.array(depths)


# -- one pore: flow solves at prescribed plunger speed ------------------------------------------
class PoreModel:
    """Mesh, fields and flow problem of one pore.

    The plunger (the reservoir top) moves at a prescribed speed and the stack pressure is the
    reaction it needs. Speed control is what makes the solve robust: under a prescribed pressure
    above the flow threshold a near-rigid-plastic problem asks for a rate that the slightest
    overpressure drives to enormous values (the load-controlled limit-load problem), while at a
    prescribed speed the stresses stay bounded by the flow law."""

    def __init__(self, cfg: Config, comm: MPI.Comm, shape: str, d: float, tag: str = ""):
        params = _channel(cfg, shape, d)
        kind = params.kind
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
        self.plunger = fem.Constant(tm.mesh, default_scalar_type(0.0))  # top velocity (m/s, < 0 down)
        condition = "friction" if cfg.wall_shear_strength > 0 else "slip"
        walls = [Wall(("channel_wall", "reservoir_bottom"), condition, cfg.wall_shear_strength)]
        sides = ("axis", "reservoir_outer") if kind == AXISYMMETRIC else ("reservoir_left", "reservoir_right")
        fixed = [FixedComponent(sides, 0), FixedComponent(("reservoir_top",), 1, self.plunger)]
        self.flow = ViscoplasticFlow(
            tm, law, yield_stress=self.yield_stress, fill=self.fill.fn, walls=walls, fixed=fixed,
            rigid_rate=cfg.rigid_rate, length_scale=d, stress_scale=1e6, prefix=f"extrusion{tag}_",
            solver_overrides={"snes_max_it": cfg.max_newton_iterations, "snes_linesearch_type": cfg.line_search})
        self.top_area = integrate(tm, 1.0, facets=["reservoir_top"])
        self.states: dict[tuple[int, int], np.ndarray] = {}  # (front index, speed index) -> solution

    def front_positions(self) -> np.ndarray:
        s0 = self.cfg.initial_depth * self.d
        # the last position keeps one cell of void ahead of the front inside the pore
        return np.linspace(s0, self.length - self.fill.h, self.cfg.front_positions)

    def solve_at(self, front: float, speed: float, cold: bool = False) -> tuple[float, int]:
        """Flow with the front at ``front`` pushed at ``speed``: (plunger pressure in Pa, Newton
        iterations). Warm start from the current state; ``cold`` starts from rest and sharpens
        the wall-friction regularisation in steps (a sticking wall from rest defeats Newton)."""
        self.fill.set_front(front)
        self.plunger.value = -speed * self.section / self.top_area
        fractions = [self.cfg.slip_fraction]
        if cold:
            self.flow.w.x.array[:] = 0.0
            fractions = [f for f in (1.0, 0.1) if f > self.cfg.slip_fraction] + fractions
        its = 0
        for f in fractions:
            self.flow.slip_speed.value = f * speed
            its += self.flow.solve()
        return -self.flow.reaction(["reservoir_top"], 1) / self.top_area, its

    def leak(self) -> float:
        """Relative flux lost between the plunger and the open pore end (discretisation error)."""
        q_top = abs(float(self.plunger.value)) * self.top_area
        q_out = self.flow.flux(["channel_bottom"], (0.0, -1.0))  # both shapes end in a flat cut
        return abs(q_out - q_top) / q_top

    def speed_curve(self, index: int, checkpoint_dir=None) -> SpeedCurve:
        """Pressures over the speed range with the front at position ``index``.

        The speed (log scale) is the stepping variable of :func:`run_adaptive`: a solve that
        fails halves the decade step; repeated failure saves a checkpoint and stops with a message."""
        cfg = self.cfg
        front = self.front_positions()[index]
        speeds, pressures = [], []
        st = {"its": 0, "total": 0, "leak": 0.0, "p": 0.0}
        saved = self.flow.w.x.array.copy()

        def advance(t, dt):
            try:
                st["p"], st["its"] = self.solve_at(front, cfg.speed_min * 10 ** (t + dt))
            except FlowDivergedError as e:
                log.info("%s", e)
                return False
            st["total"] += st["its"]
            return True

        def accept(t):
            speed = cfg.speed_min * 10**t
            speeds.append(speed)
            pressures.append(st["p"])
            st["leak"] = max(st["leak"], self.leak())
            saved[:] = self.flow.w.x.array
            self.states[(index, len(speeds) - 1)] = saved.copy()

        def reject():
            self.flow.w.x.array[:] = saved

        def save(t):
            if checkpoint_dir is None:
                return "(no checkpoint directory)"
            from ssbx.fem.io import save_checkpoint

            path = Path(checkpoint_dir) / f"checkpoint_{self.shape}_{self.d * 1e6:g}um_front{index}"
            save_checkpoint(path, {"flow": self.flow.w}, {"front": front, "speed": cfg.speed_min * 10**t})
            return str(path)

        def keep(t):
            saved[:] = self.flow.w.x.array

        control = StepControl(dt0=1.0, dt_min=1.0 / 64, dt_max=1.0, grow=2.0, easy_iterations=cfg.max_newton_iterations)
        # start from rest two decades below speed_min, where the whole flow is near-rigid (linear)
        st["p"], st["its"] = self.solve_at(front, cfg.speed_min * 1e-2, cold=True)
        st["total"] += st["its"]
        keep(-2.0)
        run_adaptive(-2.0, 0.0, control, advance, keep, reject, save, iterations=lambda: st["its"])
        accept(0.0)
        decades = math.log10(cfg.speed_max / cfg.speed_min)
        run_adaptive(0.0, decades, control, advance, accept, reject, save, iterations=lambda: st["its"])
        # the pressure must rise with speed; round-off on the flat plastic plateau may not
        p = np.maximum.accumulate(np.array(pressures))
        return SpeedCurve(float(front), np.array(speeds), p, st["total"], st["leak"])


@dataclass
class PoreResult:
    shape: str
    diameter: float
    curves: list
    hold_time: float

    def history(self, pressure: float) -> tuple[np.ndarray, np.ndarray]:
        """(times, advance of the front along the pore) under ``pressure``."""
        return front_history(self.curves, pressure, self.hold_time)

    def depth_after_hold(self, pressure: float) -> float:
        return float(self.history(pressure)[1][-1])


def run_pore(model: PoreModel, checkpoint_dir=None) -> PoreResult:
    curves = []
    for i in range(model.cfg.front_positions):
        c = model.speed_curve(i, checkpoint_dir)
        curves.append(c)
        log.info("%s pore d = %.2f um, front %.2f um: %.0f MPa at %.0e m/s ... %.0f MPa at %.0e m/s "
                 "(%d Newton its, flux leak %.1e)", model.shape, model.d * 1e6, c.front * 1e6,
                 c.pressures[0] / 1e6, c.speeds[0], c.pressures[-1] / 1e6, c.speeds[-1],
                 c.newton_iterations, c.leak)
    return PoreResult(model.shape, model.d, curves, model.cfg.hold_time)


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


def _write_fields(model: PoreModel, result: PoreResult, pressure: float, out: ResultDir, comm) -> None:
    """Fields at each front position under ``pressure``: the flow re-solved at the front speed
    found for that pressure (warm start from the nearest tabulated speed). ParaView time = the
    time at which the front passes that position (positions not reached are skipped)."""
    funcs, update = _field_functions(model)
    times, depths = result.history(pressure)
    with FieldWriter(comm, out.file(f"fields_{model.shape}"), funcs) as writer:
        for i, c in enumerate(result.curves):
            depth = c.front - result.curves[0].front
            speed = c.speed_at(pressure)
            if speed <= 0 or depth > depths[-1] + 1e-15:
                continue
            j = int(np.argmin(np.abs(np.log(c.speeds / speed))))
            model.flow.w.x.array[:] = model.states[(i, j)]
            model.solve_at(c.front, speed)
            update()
            writer.write(float(np.interp(depth, depths, times)))


def _channel(cfg: Config, shape: str, d: float) -> PoreChannel:
    return PoreChannel(pore_diameter=d, pore_depth=cfg.pore_depth, reservoir_width=cfg.reservoir_width_factor * d,
                       reservoir_height=cfg.reservoir_height_factor * d, shape=shape, tortuosity=cfg.tortuosity,
                       kind=AXISYMMETRIC if shape == "straight" else PLANE)


def vertical_depth(line: np.ndarray, start: float, advance) -> np.ndarray:
    """Depth below the pore mouth gained by a front that started at arc length ``start`` and
    advanced by ``advance`` along the centre line ``line`` (equal to the advance for a straight
    pore; about advance / tortuosity for a zig-zag one)."""
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(line, axis=0).T))])
    y = np.interp(start + np.asarray(advance), arc, line[:, 1])
    return np.interp(start, arc, line[:, 1]) - y


def depth_tables(cfg: Config, curves: dict) -> tuple[list, list, dict]:
    """Depth vs time and depth after the hold for every pore and pressure from the pressure-speed
    curves (``curves[(shape, d)]``: list of SpeedCurve). No flow solve: cheap to redo for other
    pressures or hold times from a saved ``pressure_vs_speed.csv`` (:func:`curves_from_rows`)."""
    rows_t, rows_h, results = [], [], {}
    for (shape, d), cs in curves.items():
        line = _channel(cfg, shape, d).centreline()
        full = cs[-1].front - cs[0].front
        for p in cfg.pressures:
            times, advance = front_history(cs, p, cfg.hold_time)
            depth = vertical_depth(line, cs[0].front, advance)
            rows_t += [{"shape": shape, "pore_diameter": d, "pressure": p, "time": t, "advance": a, "depth": z}
                       for t, a, z in zip(times, advance, depth, strict=True)]
            filled = advance[-1] >= full - 1e-12
            rows_h.append({"shape": shape, "pore_diameter": d, "pressure": p, "depth": depth[-1],
                           "advance": advance[-1], "filled": filled})
            results[f"depth_{shape}_{d * 1e6:g}um_{p / 1e6:g}MPa"] = float(depth[-1])
            log.info("%s pore d = %.2f um, p = %5.0f MPa: depth after %.0f s = %.2f um%s", shape, d * 1e6,
                     p / 1e6, cfg.hold_time, depth[-1] * 1e6, " (filled)" if filled else "")
    return rows_t, rows_h, results


def curves_from_rows(rows: list[dict]) -> dict:
    """SpeedCurves per (shape, d) from the rows of ``pressure_vs_speed.csv``."""
    grouped: dict = {}
    for r in rows:
        key = (r["shape"], float(r["pore_diameter"]))
        grouped.setdefault(key, {}).setdefault(float(r["front"]), []).append((float(r["speed"]), float(r["pressure"])))
    return {key: [SpeedCurve(front, np.array([v for v, _ in pts]), np.array([p for _, p in pts]), 0, 0.0)
                  for front, pts in sorted(fronts.items())] for key, fronts in grouped.items()}


def run(cfg: Config, comm: MPI.Comm, out: ResultDir) -> dict:
    rows_c, curves = [], {}
    results = {"newton_iterations": 0, "flow_solves": 0, "max_flux_leak": 0.0}
    fields_done = set()
    for shape in cfg.shapes:
        for d in cfg.pore_diameters:
            model = PoreModel(cfg, comm, shape, d, tag=f"_{shape}_{len(curves)}")
            res = run_pore(model, out.path)
            curves[(shape, d)] = res.curves
            for c in res.curves:
                results["newton_iterations"] += c.newton_iterations
                results["flow_solves"] += len(c.speeds)
                results["max_flux_leak"] = max(results["max_flux_leak"], c.leak)
                rows_c += [{"shape": shape, "pore_diameter": d, "front": c.front, "speed": v, "pressure": p}
                           for v, p in zip(c.speeds, c.pressures, strict=True)]
            if shape not in fields_done and math.isclose(d, cfg.field_diameter, rel_tol=1e-9):
                _write_fields(model, res, cfg.field_pressure, out, comm)
                fields_done.add(shape)
    rows_t, rows_h, depths = depth_tables(cfg, curves)
    results.update(depths)
    if comm.rank == 0:
        write_csv_atomic(out.file("pressure_vs_speed.csv"), rows_c)
        write_tables(cfg, rows_t, rows_h, out.path)
    comm.barrier()
    results["cases"] = len(rows_h)
    return results


def write_tables(cfg: Config, rows_t, rows_h, folder: Path) -> None:
    write_csv_atomic(folder / "depth_vs_time.csv", rows_t)
    write_csv_atomic(folder / "depth_after_hold.csv", rows_h)
    if cfg.figure:
        plot_extrusion(rows_h, rows_t, cfg, folder / "li_extrusion.png")


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
    ax.set_ylabel(f"depth below the mouth after {cfg.hold_time:.0f} s (um)")
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


def main(argv=None) -> int:
    """Redo the depth tables and figure of a finished run from its pressure-speed curves."""
    import argparse
    import csv
    import json

    from ssbx.studies.config import parse, set_override

    ap = argparse.ArgumentParser(prog="python -m ssbx.studies.li_extrusion", description=main.__doc__)
    ap.add_argument("results", type=Path, help="a finished li_extrusion results folder")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="e.g. hold_time=10min")
    args = ap.parse_args(argv)
    body = json.loads((args.results / "manifest.json").read_text())["config_si"]
    for item in args.set:
        key, _, value = item.partition("=")
        set_override(body, key, value, Config)
    cfg = parse(Config, body)
    with open(args.results / "pressure_vs_speed.csv") as f:
        curves = curves_from_rows(list(csv.DictReader(f)))
    rows_t, rows_h, _ = depth_tables(cfg, curves)
    write_tables(cfg, rows_t, rows_h, args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
