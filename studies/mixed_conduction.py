"""# Study `mixed_conduction`: where Li goes when a Li-graphite (MIEC) interlayer is charged

What is simulated (DESIGN.md section 1 "MIEC graphite interlayer", M3): a cross-section SE /
porous graphite interlayer / Li foil. Cold pressing pushed Li0 into the interlayer's tortuous
pores (the ``li_extrusion`` study gives how far); at rest Li then intercalates into the graphite
from the foil and the pore Li0. On charge (Li+ arriving from the cathode through the SE at
0.2 mA/cm^2) each Li+ can

1. intercalate into graphite (Li_x C_6, U(x) of Safari & Delacourt),
2. cross the lithiated graphite and plate on Li0 already there (pore Li0 or the foil), or
3. be reduced at the interlayer/SE interface as new Li0, which first needs a cathodic
   overpotential past the nucleation barrier E_n (20 mV) and then plates without it.

Model: :class:`ssbx.fem.intercalation.IntercalationConduction` (read its docstring for the
equations). Li+ potential phi in the SE and the graphite (Nernst-Einstein conductivity of the
intercalated Li from Ecker's D(x)), Li fraction x per graphite cell, volumetric Butler-Volmer
exchange between them, Butler-Volmer Li0 sites on the foil, on the Li0-filled part of every pore
wall and (with the barrier) on the interlayer/SE interface. The Li0 column in each pore grows
along the pore by the Li volume plated on its walls, Omega_Li q / F over the pore width, so the
Li0-covered wall advances toward the tip as plating proceeds; it never falls below the extrusion
fill, because the stack pressure refills by creep from the foil what the walls lose to the
graphite (assumed).

Definitions used in the outputs:
* transport overpotential eta_t = mean phi on the interlayer/SE interface - phi: what Li+ pays
  (in V) to get from the SE interface to a point of the interlayer;
* intercalation-favoured zone: the graphite next to the SE that Li+ reaches for less than the
  nucleation barrier, bounded by the E_n level set of eta_t; its thickness is the depth of the
  first crossing eta_t = E_n below the SE, averaged over vertical lines through the graphite
  (the full layer where eta_t stays below E_n all the way down).

Outputs (``results/mixed_conduction/<case>/``): ``history.csv`` (per step: time, phase, path
currents and shares, charge balance, zone thickness, Li0 column length per pore, nucleated
share of the interface, Li inventory), ``sections.csv`` (x averaged over each
``section_width`` band of graphite, counted from the SE, vs time), ``wall_current.csv``
(plating current density along each pore wall vs distance from the mouth at the snapshot
times), ``fields.bp`` / ``fields.pvd`` (phi, eta_t, x, nucleation state, pore Li0 coverage and the mask
of the cells where phi means something, ``ionic``, at the snapshots) and
``mixed_conduction.png``.

Assumptions (configurable, stated in the TOML): exchange currents, graphite specific area, the
initial lithiation before Li contact, the rest time, electron potential uniform in the metals
and graphite (drop < 1e-7 V), pore Li0 as a column that fills the pore cross-section.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import default_scalar_type, fem, geometry
from ssbx.fem.boundary import compiled_integral
from ssbx.fem.conduction import ConductionDivergedError
from ssbx.fem.figures import gather_vertex_values
from ssbx.fem.intercalation import IntercalationConduction, IntercalationHost, LithiumSite
from ssbx.fem.io import FieldWriter, ResultDir, TimeSeries, save_checkpoint, write_csv_atomic
from ssbx.fem.kinetics import ButlerVolmer, NucleationBarrier
from ssbx.fem.materials import FARADAY, get_material
from ssbx.fem.timestepping import StepControl, run_adaptive
from ssbx.geometries.interlayer import Interlayer, build_interlayer
from ssbx.studies.config import choice, quantities, quantity

from ssbx.log import get_logger

DESCRIPTION = "MIEC graphite interlayer on charge: intercalation vs plating on pore Li0 vs nucleation at the SE"
log = get_logger(__name__)
LI_MOLAR_VOLUME = get_material("li").molar_volume  # m^3/mol (13.0 cm^3/mol, DESIGN.md section 1)


@dataclass(frozen=True)
class Config:
    width: float = quantity(20e-6, "length", doc="section width (two pore lanes)")
    li_thickness: float = quantity(10e-6, "length")
    interlayer_thickness: float = quantity(25e-6, "length", doc="DESIGN.md section 1 (25-30 um)")
    se_thickness: float = quantity(10e-6, "length")
    pore_diameter: float = quantity(1.5e-6, "length", doc="DESIGN.md section 1 (mean ~1.5 um)")
    pore_count: int = 2
    tortuosity: float = 1.5
    pore_depth_fraction: float = quantity(0.9, "dimensionless", bound="unit_interval")
    seed: int = 0
    mesh_size: float = quantity(0.375e-6, "length", doc="along the pores (pore diameter / 4)")
    pore_fill: float = quantity(18e-6, "length", bound="nonnegative",
                                doc="Li0 column length along each pore (li_extrusion: tortuous 1.5 um, 300 MPa)")
    pore_fill_from: str = ""  # li_extrusion result folder; if set, pore_fill comes from its depth table
    pore_fill_pressure: float = quantity(300e6, "pressure", doc="stack pressure to read from pore_fill_from")
    pore_fill_shape: str = choice("tortuous", ("straight", "tortuous"))
    electrolyte: str = "li6ps5cl"
    current_density: float = quantity(2.0, "current_density", doc="0.2 mA/cm^2 charge (DESIGN.md section 1)")
    rest_time: float = quantity(21600.0, "time", bound="nonnegative", doc="Li0 contact before charge (assumed)")
    charge_time: float = quantity(3600.0, "time")
    snapshot_times: tuple = quantities((60.0, 300.0, 600.0, 1200.0, 2400.0, 3600.0), "time",
                                       doc="charge times for maps and wall currents")
    initial_fraction: float = quantity(0.05, "dimensionless", bound="fraction",
                                       doc="x of Li_x C_6 before Li0 contact (assumed)")
    intercalation_exchange_current: float = quantity(10.0, "current_density",
                                                     doc="1 mA/cm^2 at x = 1/2 (assumed, DESIGN.md M3)")
    specific_area: float = quantity(8e5, "specific_area", doc="3 (1 - 0.3) / 2.5 um graphite grains (assumed)")
    plating_exchange_current: float = quantity(20.0, "current_density", doc="2 mA/cm^2 on Li0 (assumed)")
    nucleation_barrier: float = quantity(0.020, "voltage", doc="DESIGN.md M3")
    section_width: float = quantity(5e-6, "length", doc="Li content per band counted from the SE")
    dt_initial: float = quantity(0.5, "time")
    dt_max: float = quantity(30.0, "time", doc="largest step during the charge")
    rest_dt_max: float = quantity(600.0, "time", doc="largest step during the rest")
    figure: bool = True

    def __post_init__(self):
        if self.section_width > self.interlayer_thickness:
            raise ValueError(f"section_width ({self.section_width}) must not exceed interlayer_thickness")
        if any(t > self.charge_time * (1 + 1e-12) for t in self.snapshot_times):
            raise ValueError(f"snapshot_times must lie within charge_time ({self.charge_time} s)")
        if self.dt_initial > self.dt_max:
            raise ValueError(f"dt_initial ({self.dt_initial}) must not exceed dt_max ({self.dt_max})")

    def geometry(self) -> Interlayer:
        return Interlayer(width=self.width, li_thickness=self.li_thickness,
                          interlayer_thickness=self.interlayer_thickness, se_thickness=self.se_thickness,
                          pore_diameter=self.pore_diameter, pore_count=self.pore_count, tortuosity=self.tortuosity,
                          pore_depth_fraction=self.pore_depth_fraction, seed=self.seed)


# ## Pore fill from the li_extrusion study

def fill_from_extrusion(folder: str | Path, pore_diameter: float, pressure: float, shape: str) -> float:
    """Li0 column length (m, along the pore) after the li_extrusion hold, read from its
    ``depth_after_hold.csv`` and interpolated linearly in pressure."""
    path = Path(folder) / "depth_after_hold.csv"
    if not path.is_file():
        raise ValueError(f"pore_fill_from: {str(path)!r} not found (run the li_extrusion study first)")
    with path.open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["shape"] == shape]
    diameters = sorted({float(r["pore_diameter"]) for r in rows})
    rows = [r for r in rows if abs(float(r["pore_diameter"]) - pore_diameter) <= 0.01 * pore_diameter]
    if not rows:
        raise ValueError(f"pore_fill_from: no {shape} pore of {pore_diameter:g} m in {path} (has {diameters})")
    p = np.array([float(r["pressure"]) for r in rows])
    s = np.array([float(r["advance"]) for r in rows])
    order = np.argsort(p)
    if not p.min() <= pressure <= p.max():
        raise ValueError(f"pore_fill_pressure: {pressure:g} Pa outside the tabulated {p.min():g}-{p.max():g} Pa")
    return float(np.interp(pressure, p[order], s[order]))


# ## Pore walls: distance from the mouth along each pore

def arc_position(points: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distance to the polyline, arc length of the nearest point on it) for each point (m)."""
    a, b = line[:-1], line[1:]
    seg = b - a
    length = np.linalg.norm(seg, axis=1)
    start = np.concatenate([[0.0], np.cumsum(length)])[:-1]
    rel = points[:, None, :2] - a[None]
    t = np.clip(np.einsum("psk,sk->ps", rel, seg) / length**2, 0.0, 1.0)
    dist = np.linalg.norm(rel - t[..., None] * seg[None], axis=2)
    k = np.argmin(dist, axis=1)
    rows = np.arange(len(points))
    return dist[rows, k], start[k] + t[rows, k] * length[k]


class PoreColumns:
    """The Li0 column in each pore as a length along its centre line, and the nodal coverage of
    the pore walls it implies (a linear ramp one mesh size wide at the column front), as P1
    Functions on ``tm``'s mesh."""

    def __init__(self, tm, lines: list[np.ndarray], fill: float, diameter: float, ramp: float,
                 wall: str = "interlayer_pore_interface"):
        self.V = V = fem.functionspace(tm.mesh, ("Lagrange", 1))
        dofs = fem.locate_dofs_topological(V, tm.mesh.topology.dim - 1, tm.facets(wall))
        self.xy = xy = V.tabulate_dof_coordinates()[dofs]
        dist = np.array([arc_position(xy, line)[0] for line in lines])
        self.owner = np.argmin(dist, axis=0)
        arcs = np.array([arc_position(xy, line)[1] for line in lines])
        self.arc = arcs[self.owner, np.arange(len(dofs))]
        self.dofs, self.diameter, self.ramp = dofs, diameter, ramp
        self.owned = dofs < V.dofmap.index_map.size_local
        self.length = np.array([np.sum(np.linalg.norm(np.diff(line, axis=0), axis=1)) for line in lines])
        # The stack pressure holds each column at least at its extrusion fill: Li0 that the walls
        # lose to the graphite is replaced by creep from the foil (li_extrusion), so only plating
        # lengthens a column. The rounded tip projects onto the centre-line end, so a column
        # longer than the centre line by d/2 fills the pore.
        self.fill = np.minimum(fill, self.length + diameter / 2)
        self.front = self.fill.copy()
        self.coverage = [fem.Function(V, name=f"li0_pore{k}") for k in range(len(lines))]
        self.update()

    def update(self) -> None:
        for k, cov in enumerate(self.coverage):
            mine = self.owner == k
            cov.x.array[:] = 0.0
            cov.x.array[self.dofs[mine]] = np.clip((self.front[k] - self.arc[mine]) / self.ramp + 0.5, 0.0, 1.0)
            cov.x.scatter_forward()

    def grow(self, plated_charge: np.ndarray) -> None:
        """Advance each column by the Li volume plated on its walls (C per m of depth); net
        stripping shortens it, but not below the extrusion fill."""
        self.front = np.clip(self.front + LI_MOLAR_VOLUME * plated_charge / FARADAY / self.diameter,
                             self.fill, self.length + self.diameter / 2)
        self.update()


# ## The E_n level set: how deep below the SE eta_t first reaches the barrier

class LevelSetDepth:
    """eta_t sampled on vertical lines through the interlayer (``lines`` x 0.1 um); the depth of
    its first crossing of a level below the SE, averaged over the lines. Points in pores are
    skipped. Point ownership is decided once (lowest rank that finds the point), so the answer
    does not depend on the partition."""

    def __init__(self, tm, V, cfg: Config, expr, lines: int = 40, spacing: float = 0.1e-6):
        top = cfg.li_thickness + cfg.interlayer_thickness
        xs = (np.arange(lines) + 0.5) * cfg.width / lines
        self.depths = np.arange(0.5 * spacing, cfg.interlayer_thickness, spacing)
        pts = np.array([[x, top - d, 0.0] for x in xs for d in self.depths])
        self.shape = (lines, len(self.depths))
        msh = tm.mesh
        tree = geometry.bb_tree(msh, msh.topology.dim)
        cand = geometry.compute_collisions_points(tree, pts)
        hits = geometry.compute_colliding_cells(msh, cand, pts)
        host = np.zeros(msh.topology.index_map(msh.topology.dim).size_local
                        + msh.topology.index_map(msh.topology.dim).num_ghosts, dtype=bool)
        host[tm.cells("interlayer")] = True
        n_owned = msh.topology.index_map(msh.topology.dim).size_local
        cells = np.full(len(pts), -1, dtype=np.int32)
        for k in range(len(pts)):
            links = hits.links(k)
            links = links[links < n_owned]
            if len(links):
                cells[k] = links[0]
        rank = tm.comm.rank
        owner = np.where(cells >= 0, rank, tm.comm.size).astype(np.int32)
        tm.comm.Allreduce(MPI.IN_PLACE, owner, op=MPI.MIN)
        self.mine = np.flatnonzero(owner == rank)
        self.cells = cells[self.mine]
        in_host = np.zeros(len(pts), dtype=np.int32)
        in_host[self.mine] = host[self.cells]
        self.in_host = tm.comm.allreduce(in_host, op=MPI.SUM).reshape(self.shape).astype(bool)
        self.points = pts[self.mine]
        self.f = fem.Function(V)
        self.expr = fem.Expression(expr, V.element.interpolation_points)
        self.comm, self.thickness = tm.comm, cfg.interlayer_thickness

    def values(self) -> np.ndarray:
        self.f.interpolate(self.expr)
        out = np.zeros(self.shape[0] * self.shape[1])
        if len(self.mine):
            out[self.mine] = self.f.eval(self.points, self.cells).ravel()
        return self.comm.allreduce(out, op=MPI.SUM).reshape(self.shape)

    def depth(self, level: float) -> float:
        vals = self.values()
        found = []
        for row, ok in zip(vals, self.in_host, strict=True):
            above = np.flatnonzero(ok & (row >= level))
            found.append(self.depths[above[0]] if len(above) else self.thickness)
        return float(np.mean(found))


# ## The model

class InterlayerCell:
    """Geometry, transport problem, pore columns and the scalar diagnostics of one section."""

    def __init__(self, cfg: Config, comm: MPI.Comm, tag: str = ""):
        self.cfg = cfg
        geo = cfg.geometry()
        self.tm = tm = build_interlayer(comm, geo, mesh_size=cfg.mesh_size)
        se = get_material(cfg.electrolyte, where="electrolyte")
        se.require("ionic_conductivity")
        host = IntercalationHost(("interlayer",), ButlerVolmer(exchange_current=cfg.intercalation_exchange_current),
                                 specific_area=cfg.specific_area)
        plating = ButlerVolmer(exchange_current=cfg.plating_exchange_current)
        self.applied = fem.Constant(tm.mesh, default_scalar_type(0.0))
        lines = [np.asarray(c) for c in tm.info["pore_centrelines"]]
        fill = cfg.pore_fill
        if cfg.pore_fill_from:
            fill = fill_from_extrusion(cfg.pore_fill_from, cfg.pore_diameter, cfg.pore_fill_pressure,
                                       cfg.pore_fill_shape)
        self.fill = fill
        self.columns = PoreColumns(tm, lines, fill, cfg.pore_diameter, cfg.mesh_size)
        sites = {"foil": LithiumSite(("li_interlayer_interface",), plating)}
        for k, cov in enumerate(self.columns.coverage):
            sites[f"pore{k}"] = LithiumSite(("interlayer_pore_interface",), plating, coverage=cov)
        sites["se_interface"] = LithiumSite(("interlayer_se_interface",), plating,
                                            nucleation=NucleationBarrier(cfg.nucleation_barrier))
        self.ic = ic = IntercalationConduction(tm, {"se": se.ionic_conductivity}, host, sites,
                                               (("se_top",), self.applied), initial_fraction=cfg.initial_fraction,
                                               prefix=f"interlayer{tag}_")
        self.pores = [f"pore{k}" for k in range(len(lines))]
        self._plating_expr = {name: fem.Expression(-ic.site_current_density[name],
                                                   self.columns.V.element.interpolation_points) for name in self.pores}
        # transport overpotential relative to the mean Li+ potential on the interlayer/SE interface
        phi = ufl.split(ic.w)[0]
        self.phi_interface = fem.Constant(tm.mesh, default_scalar_type(0.0))
        self.eta_t = self.phi_interface - phi
        n_area = compiled_integral(tm, 1.0, facets=("interlayer_se_interface",), interior=True)()
        phi_int = compiled_integral(tm, phi("+"), facets=("interlayer_se_interface",), interior=True)
        self._phi_interface = lambda: phi_int() / n_area
        self.probe = LevelSetDepth(tm, ic.V, cfg, self.eta_t)
        self._nucleated = compiled_integral(tm, ic.nucleated["se_interface"]("+"),
                                            facets=("interlayer_se_interface",), interior=True)
        self._interface_area = n_area
        self.sections = self._section_integrals()

    def _section_integrals(self):
        """x averaged over bands of graphite counted from the SE interface (cells by midpoint)."""
        cfg, tm, ic = self.cfg, self.tm, self.ic
        top = cfg.li_thickness + cfg.interlayer_thickness
        n = int(round(cfg.interlayer_thickness / cfg.section_width))
        mid = fem.Function(ic.Q)
        mid.interpolate(lambda x: x[1])
        x = ufl.split(ic.w)[1]
        out = []
        for k in range(n):
            band = fem.Function(ic.Q)
            depth = top - mid.x.array
            band.x.array[:] = (depth >= k * cfg.section_width) & (depth < (k + 1) * cfg.section_width)
            area = compiled_integral(tm, band, cells=("interlayer",))()
            stored = compiled_integral(tm, band * x, cells=("interlayer",))
            out.append((k * cfg.section_width, area, stored))
        return out

    def save_state(self) -> dict:
        return {"w": self.ic.w.x.array.copy(), "nucleated": self.ic.nucleated["se_interface"].x.array.copy(),
                "front": self.columns.front.copy()}

    def restore_state(self, saved: dict) -> None:
        self.ic.w.x.array[:] = saved["w"]
        self.ic.w_old.x.array[:] = saved["w"]
        self.ic.nucleated["se_interface"].x.array[:] = saved["nucleated"]
        self.columns.front = saved["front"].copy()
        self.columns.update()

    def diagnostics(self) -> dict:
        cfg, ic = self.cfg, self.ic
        self.phi_interface.value = self._phi_interface()
        applied = ic.applied()
        paths = {"intercalation": -ic.host_current(), "plating_foil": -ic.site_current("foil"),
                 "plating_pores": -sum(ic.site_current(p) for p in self.pores),
                 "nucleation_interface": -ic.site_current("se_interface")}
        row = {"applied_current": applied, **paths}
        ref = max(abs(applied), max(abs(v) for v in paths.values()), 1e-300)
        row["charge_balance_rel"] = ic.charge_balance() / ref
        row["zone_thickness"] = self.probe.depth(cfg.nucleation_barrier)
        row["nucleated_share"] = self._nucleated() / self._interface_area
        row["phi_interface"] = float(self.phi_interface.value)
        row["host_inventory"] = ic.host_inventory()
        for k, front in enumerate(self.columns.front):
            row[f"column_pore{k}"] = front
        for k, (_, area, stored) in enumerate(self.sections):
            row[f"x_section{k}"] = stored() / area
        return row

    def wall_current(self) -> list[dict]:
        """Plating current density (A/m^2, > 0 plating) at the Li0-covered pore-wall nodes, on rank 0."""
        cols, rows = self.columns, []
        f = fem.Function(cols.V)
        for k, name in enumerate(self.pores):
            f.interpolate(self._plating_expr[name])
            mine = cols.owned & (cols.owner == k)
            xy = cols.xy[mine]
            vals = f.x.array[cols.dofs[mine]]
            covered = cols.coverage[k].x.array[cols.dofs[mine]] > 0
            rows += [{"pore": k, "x": p[0], "y": p[1], "arc": s, "plating_current": c}
                     for p, s, c, on in zip(xy, cols.arc[mine], vals, covered, strict=True) if on]
        parts = self.tm.comm.gather(rows, root=0)
        return [r for p in parts for r in p] if parts is not None else []


# ## Running: rest, then charge, with adaptive steps that land on the snapshot times
#
# Which path takes the applied current is measured against the same cell left at open circuit:
# after the rest the foil and the pore Li0 still feed the graphite, so the raw path currents
# include that self-lithiation. The study therefore also continues the rest without current
# (phase "open_circuit") and attributes to each path the difference, charge minus open circuit,
# at the same time. The attributed shares sum to one (both runs conserve charge).

PATHS = ("intercalation", "plating_pores", "plating_foil", "nucleation_interface")


class Stepper:
    """Adaptive backward-Euler stepping of one :class:`InterlayerCell` between given times,
    recording a diagnostics row per accepted step; a failure that survives the cutbacks saves a
    checkpoint and raises :class:`ssbx.fem.timestepping.SolveDivergedError`."""

    def __init__(self, cell: InterlayerCell, out: ResultDir, history: TimeSeries):
        self.cell, self.out, self.history = cell, out, history
        self.phase, self.t0, self.its, self.dt = "rest", 0.0, 0, cell.cfg.dt_initial

    def record(self, t: float) -> None:
        self.history.append(time=t, phase=self.phase, charge_time=t - self.t0, **self.cell.diagnostics())

    def _advance(self, t, dt) -> bool:
        try:
            self.its = self.cell.ic.step(dt)
        except ConductionDivergedError as exc:
            log.info("step failed: %s", exc)
            return False
        return True

    def _accept(self, t) -> None:
        ic = self.cell.ic
        plated = np.array([-ic.site_current(p) * float(ic.dt.value) for p in self.cell.pores])
        ic.accept()
        self.cell.columns.grow(plated)
        self.record(t)

    def _checkpoint(self, t) -> str:
        path = self.out.file(f"checkpoint_{self.phase}_t{t:.0f}s.npz")
        cell = self.cell
        save_checkpoint(path, {"state": cell.ic.w, "nucleated": cell.ic.nucleated["se_interface"]},
                        {"time": t, "phase": self.phase, "columns": cell.columns.front.tolist()})
        return str(path)

    def run(self, t0: float, t1: float) -> None:
        cfg = self.cell.cfg
        dt_max = cfg.rest_dt_max if self.phase == "rest" else cfg.dt_max
        control = StepControl(dt0=min(self.dt, t1 - t0, dt_max), dt_min=1e-4, dt_max=dt_max, grow=1.5, max_cutbacks=8,
                              easy_iterations=6)
        stats = run_adaptive(t0, t1, control, self._advance, self._accept, self.cell.ic.reject, self._checkpoint,
                             iterations=lambda: self.its)
        self.dt = stats["final_dt"]


def run(cfg: Config, comm: MPI.Comm, out: ResultDir) -> dict:
    cell = InterlayerCell(cfg, comm)
    ic = cell.ic
    history = TimeSeries(comm, out.file("history.csv"))
    stepper = Stepper(cell, out, history)
    if cfg.rest_time > 0:
        log.info("rest %.0f s: Li0 intercalates from the foil and %d pore columns (%.1f um)", cfg.rest_time,
                 len(cell.pores), cell.fill * 1e6)
        stepper.run(0.0, cfg.rest_time)
    t_rest = cfg.rest_time
    charge_times = sorted(set(cfg.snapshot_times) | {cfg.charge_time})
    stops = [t_rest + ts for ts in charge_times]
    saved = cell.save_state()

    # open circuit: the reference for attributing the charge current to the paths
    stepper.phase, stepper.t0, stepper.dt = "open_circuit", t_rest, cfg.dt_initial
    walls_oc = {}
    t = t_rest
    for ts, t_stop in zip(charge_times, stops, strict=True):
        stepper.run(t, t_stop)
        t = t_stop
        if ts in cfg.snapshot_times:
            walls_oc[round(ts, 6)] = cell.wall_current()
    cell.restore_state(saved)

    stepper.phase, stepper.t0, stepper.dt = "charge", t_rest, cfg.dt_initial
    cell.applied.value = cfg.current_density
    fields = Snapshots(cell, out)
    fields.take(t_rest, 0.0)
    t = t_rest
    for ts, t_stop in zip(charge_times, stops, strict=True):
        stepper.run(t, t_stop)
        t = t_stop
        fields.take(t, ts)
        last = history.rows[-1]
        log.info("charge %.0f s: raw path currents / applied: %s; zone %.2f um", t - t_rest,
                 ", ".join(f"{k} {last[k] / last['applied_current']:.2f}" for k in PATHS),
                 last["zone_thickness"] * 1e6)
        history.flush()
    fields.close()
    ic.close()  # collective: before the rank-0 post-processing
    wall_rows = attribute_wall(fields.wall_rows, walls_oc) if comm.rank == 0 else []
    rows = attribute(history.rows)
    history.rows = rows
    history.flush()
    if comm.rank == 0:
        write_csv_atomic(out.file("wall_current.csv"), wall_rows)
        write_csv_atomic(out.file("sections.csv"), [
            {"time": r["time"], "phase": r["phase"], "charge_time": r["charge_time"],
             **{k: v for k, v in r.items() if k.startswith("x_section")}}
            for r in rows if r["phase"] != "open_circuit"])
    results = summarise(rows, wall_rows, cfg) if comm.rank == 0 else None
    if comm.rank == 0 and cfg.figure:
        plot(rows, wall_rows, fields.maps, cfg, cell, out.file("mixed_conduction.png"))
    results = comm.bcast(results, root=0)
    results.update(pore_fill=cell.fill, dofs=ic.W.dofmap.index_map.size_global * ic.W.dofmap.index_map_bs,
                   newton_total=ic.counters["newton"], steps=ic.counters["steps"])
    comm.barrier()
    return results


class Snapshots:
    """Field output (VTX + VTK), pore-wall plating currents and eta_t maps at the snapshot times."""

    def __init__(self, cell: InterlayerCell, out: ResultDir):
        self.cell = cell
        ic = cell.ic
        self.eta_t = fem.Function(ic.V, name="transport_overpotential")
        self._eta_expr = fem.Expression(cell.eta_t, ic.V.element.interpolation_points)
        phi, x = ic.output_functions()
        self.writer = FieldWriter(cell.tm.comm, out.file("fields"),
                                  [phi, self.eta_t, ic.nucleated["se_interface"], *cell.columns.coverage, x,
                                   ic.ionic_mask()])
        self.wall_rows, self.maps = [], []

    def take(self, t: float, charge_time: float) -> None:
        cell, ic = self.cell, self.cell.ic
        cell.phi_interface.value = cell._phi_interface()
        self.eta_t.interpolate(self._eta_expr)
        ic.output_functions()
        self.writer.write(t)
        self.wall_rows.extend({"charge_time": charge_time, **r} for r in cell.wall_current())
        self.maps.append((charge_time, gather_vertex_values(cell.eta_t, cell.tm.mesh, cell.tm.cells("interlayer"))))

    def close(self) -> None:
        # drop the writer now: a VTKFile that is collected after the result folder has been
        # renamed rewrites its .pvd under the old (.partial) name
        self.writer.close()
        self.writer = None


def attribute_wall(charge: list[dict], open_circuit: dict) -> list[dict]:
    """Wall rows of the charge snapshots with ``plating_attributed`` = plating current density
    minus the open-circuit one at the same node and charge time (the charge's share)."""
    ref = {(round(t, 6), r["pore"], r["x"], r["y"]): r["plating_current"]
           for t, rows in open_circuit.items() for r in rows}
    out = []
    for r in charge:
        base = ref.get((round(r["charge_time"], 6), r["pore"], r["x"], r["y"]))
        if base is not None:
            out.append({**r, "plating_open_circuit": base, "plating_attributed": r["plating_current"] - base})
    return out


def attribute(rows: list[dict]) -> list[dict]:
    """Add ``share_<path>`` to the charge rows: (path current - open-circuit path current at the
    same charge time, interpolated linearly) / applied current."""
    ref = [r for r in rows if r["phase"] == "open_circuit"]
    tr = np.array([r["charge_time"] for r in ref])
    out = []
    for r in rows:
        r = dict(r)
        for k in PATHS:
            if r["phase"] == "charge" and ref:
                base = float(np.interp(r["charge_time"], tr, [q[k] for q in ref]))
                r[f"share_{k}"] = (r[k] - base) / r["applied_current"]
            else:
                r[f"share_{k}"] = float("nan")
        out.append(r)
    return out


def summarise(rows: list[dict], wall_rows: list[dict], cfg: Config) -> dict:
    """Scalar results: zone thickness over the charge, when interface/pore plating overtook
    intercalation, final shares, and where along the wall the pore plating concentrates."""
    charge = [r for r in rows if r["phase"] == "charge"]
    res = {"zone_thickness_start_um": charge[0]["zone_thickness"] * 1e6,
           "zone_thickness_end_um": charge[-1]["zone_thickness"] * 1e6,
           "max_charge_balance_rel": max(abs(r["charge_balance_rel"]) for r in rows)}
    for minutes in (1, 5, 10, 30):
        near = min(charge, key=lambda r: abs(r["charge_time"] - 60 * minutes))
        res[f"zone_thickness_{minutes}min_um"] = near["zone_thickness"] * 1e6
    overtaken = [r["charge_time"] for r in charge
                 if r["share_plating_pores"] + r["share_plating_foil"] + r["share_nucleation_interface"]
                 > r["share_intercalation"]]
    res["plating_overtakes_intercalation_s"] = overtaken[0] if overtaken else None
    nucleated = [r["charge_time"] for r in charge if r["nucleated_share"] > 0]
    res["interface_nucleation_s"] = nucleated[0] if nucleated else None
    for k in PATHS:
        res[f"final_share_{k}"] = charge[-1][f"share_{k}"]
    if wall_rows:
        res.update(wall_trend(wall_rows))
    return res


def wall_trend(wall_rows: list[dict]) -> dict:
    """Per snapshot: the arc length at which the wall plating current is largest, the share of
    it on the half of the column nearer the tip, and the length of wall carrying more than 10 %
    of the peak (how far plating has spread)."""
    out = {}
    for t in sorted({r["charge_time"] for r in wall_rows}):
        rows = [r for r in wall_rows if r["charge_time"] == t and r["plating_attributed"] > 0]
        if not rows:
            continue
        arc = np.array([r["arc"] for r in rows])
        cur = np.array([r["plating_attributed"] for r in rows])
        half = 0.5 * (arc.min() + arc.max())
        out[f"wall_tip_share_{t:.0f}s"] = float(cur[arc > half].sum() / cur.sum())
        out[f"wall_peak_arc_{t:.0f}s_um"] = float(arc[np.argmax(cur)] * 1e6)
        span = arc[cur > 0.1 * cur.max()]
        out[f"wall_active_length_{t:.0f}s_um"] = float((span.max() - span.min()) * 1e6)
    return out


# ## Figure

def plot(rows, wall_rows, snapshots, cfg: Config, cell: InterlayerCell, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.tri import Triangulation

    charge = [r for r in rows if r["phase"] == "charge"]
    tmin = np.array([r["charge_time"] for r in charge]) / 60
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    ax = axes[0, 0]
    allt = np.array([r["time"] for r in rows]) / 60 - cfg.rest_time / 60
    n_sec = len([k for k in rows[0] if k.startswith("x_section")])
    colors = plt.cm.viridis(np.linspace(0, 0.9, n_sec))
    for k in range(n_sec):
        w = cfg.section_width * 1e6
        ax.plot(allt, [r[f"x_section{k}"] for r in rows], color=colors[k], label=f"{k * w:g}-{(k + 1) * w:g} um")
    ax.axvline(0, color="0.5", ls=":", lw=0.8)
    ax.set_xlabel("time from start of charge (min; < 0: rest)")
    ax.set_ylabel("x in Li$_x$C$_6$ (section mean)")
    ax.set_title("Li content per section (distance from the SE)")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    for key, label, style in (("intercalation", "intercalation", "C0-"),
                              ("plating_pores", "plating on pore Li$^0$", "C1-"),
                              ("plating_foil", "plating on the Li foil", "C1:"),
                              ("nucleation_interface", "new Li$^0$ at interlayer/SE", "C3-")):
        ax.plot(tmin, [r[f"share_{key}"] for r in charge], style, label=label)
    ax.set_xlabel("charge time (min)")
    ax.set_ylabel("share of the applied current")
    ax.set_title(f"Current paths at {cfg.current_density / 10:g} mA/cm$^2$")
    ax.legend(fontsize=7)
    ax = axes[0, 2]
    ax.plot(tmin, [r["zone_thickness"] * 1e6 for r in charge], "k-")
    ax.set_xlabel("charge time (min)")
    ax.set_ylabel("thickness (um)")
    ax.set_title(f"intercalation-favoured zone ($\\eta_t$ < {cfg.nucleation_barrier * 1e3:g} mV)")
    ax = axes[1, 0]
    if snapshots:
        t_last, (pts, vals) = snapshots[-1]
        tri = Triangulation(pts[:, :, 0].ravel() * 1e6, pts[:, :, 1].ravel() * 1e6,
                            np.arange(pts.shape[0] * 3).reshape(-1, 3))
        m = ax.tripcolor(tri, vals.ravel() * 1e3, shading="gouraud", cmap="magma")
        fig.colorbar(m, ax=ax, label="$\\eta_t$ (mV)")
        cmap = plt.cm.cool(np.linspace(0, 1, len(snapshots)))
        for (t, (p, v)), col in zip(snapshots, cmap, strict=True):
            tr = Triangulation(p[:, :, 0].ravel() * 1e6, p[:, :, 1].ravel() * 1e6,
                               np.arange(p.shape[0] * 3).reshape(-1, 3))
            ax.tricontour(tr, v.ravel(), levels=[cfg.nucleation_barrier], colors=[col], linewidths=1.0)
            ax.plot([], [], color=col, label=f"{t / 60:.0f} min")
        for line in cell.tm.info["pore_centrelines"]:
            line = np.asarray(line) * 1e6
            ax.plot(line[:, 0], line[:, 1], color="w", lw=0.6, alpha=0.6)
        ax.set_aspect("equal")
        ax.legend(fontsize=6, title=f"{cfg.nucleation_barrier * 1e3:g} mV level set", title_fontsize=7,
                  loc="lower right")
        ax.set_title(f"Li$^+$ transport overpotential, {t_last / 60:.0f} min")
        ax.set_xlabel("x (um)")
        ax.set_ylabel("y (um; SE at top)")
    ax = axes[1, 1]
    times = sorted({r["charge_time"] for r in wall_rows})
    cmap = plt.cm.plasma(np.linspace(0, 0.85, max(len(times), 1)))
    for t, col in zip(times, cmap, strict=True):
        rs = sorted((r for r in wall_rows if r["charge_time"] == t and r["pore"] == 0), key=lambda r: r["arc"])
        if rs:
            ax.plot([r["arc"] * 1e6 for r in rs], [r["plating_attributed"] / 10 for r in rs], ".", ms=3, color=col,
                    label=f"{t / 60:.0f} min")
    ax.set_xlabel("distance along pore 0 from its mouth (um)")
    ax.set_ylabel("plating current density (mA/cm$^2$), charge - open circuit")
    ax.set_title("plating along the Li$^0$-filled pore wall")
    ax.legend(fontsize=7)
    ax = axes[1, 2]
    # where the charge went: attributed share x applied current, integrated in time
    t = np.array([r["charge_time"] for r in charge])
    area = cfg.width  # plane section: per m of depth -> per m^2 of electrode over the width
    for key, label, style in (("intercalation", "intercalated", "C0-"), ("plating_pores", "on pore Li$^0$", "C1-"),
                              ("nucleation_interface", "new Li$^0$ at interlayer/SE", "C3-")):
        rate = np.array([r[f"share_{key}"] * r["applied_current"] for r in charge]) / area
        q = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(t))]) if len(t) > 1 else 0 * t
        ax.plot(t / 60, q / 3.6e4, style, label=label)  # C/m^2 -> mAh/cm^2
    ax.set_xlabel("charge time (min)")
    ax.set_ylabel("charge (mAh/cm$^2$)")
    ax.set_title("where the charge went")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
