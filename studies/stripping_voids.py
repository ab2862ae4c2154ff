"""# Study `stripping_voids`: how much Li an electrode strips before voids or depletion stop it

What is simulated (DESIGN.md section 1 and M3, "Stripping voids"): a Li (or Li-Mg 10 at.%)
electrode stripped galvanostatically into a Li6PS5Cl separator against a Li counter electrode.
Stripping takes Li atoms out of the electrode at its interface with the SE: every Li+ that
leaves injects a vacancy on the Li sublattice (flux i/F), which must diffuse into the electrode
(D = 1.6e-10 cm^2/s in Li, 2.4e-11 cm^2/s in Li-Mg, DESIGN.md).

Model (FE: ssbx.fem.diffusion on the electrode cross-section; kinetics: ssbx.fem.kinetics):
* Vacancy (Li-deficit) concentration c in the electrode, injected at i/F through the interface,
  sealed at the current collector; its interface value c_0(t) is followed exactly (B6).
* Li metal: once c_0 reaches the critical supersaturation Delta c_V (``critical_site_fraction`` x
  1/Omega, assumed 1.2 % of sites) voids nucleate: the interface value is pinned there and the
  vacancies that diffusion cannot carry away condense into interfacial voids (volume Omega per
  vacancy). The contact fraction theta = 1 - V_void / h_v (h_v = ``void_height``, the void layer
  over which contact is lost, assumed 1 um) falls, the local current i/theta rises, and the cell
  voltage iL/sigma + eta_BV(i/theta) + |eta_BV(i)| reaches the cutoff.
* Li-Mg: the Mg stays behind as a skeleton that keeps the contact (no voids), but once the
  interface has lost Delta c_Li of its Li (``critical_site_fraction`` = 0.6, assumed) the
  Mg-rich skeleton cannot deliver more: a Sand-type end of stripping (capacity ~ 1/i).
* Stack pressure: Li creep closes voids, dV/dt = Omega N_excess - V rate(p/theta), with the
  Perzyna law of ssbx.fem.li_creep: the contacts carry p/theta, and the Li that flows into a void
  has the strength of its size (Xu's sigma_y at ``contact_spacing`` = 1 um, assumed: 125 MPa),
  so creep closes voids once the contact fraction drops below ~p/sigma_y. Solved implicitly.
* Critical current: for a hold time t the interface reaches Delta c at
  j_crit = (F Delta c / 2) sqrt(pi D / t) (B6), so j_crit ~ sqrt(D); the study computes it from
  the FE interface response (the problem is linear in i) for D spanning two decades, and the
  highest current that runs ``hold_time`` without cutoff vs stack pressure (bisection on full
  runs).

Outputs: ``voltage_vs_capacity.csv`` (material, current, time, capacity, voltage, contact,
interface concentration), ``capacity.csv`` (stripped capacity at cutoff per material and
current), ``critical_current_vs_D.csv``, ``critical_current_vs_pressure.csv``,
``vacancy_profiles.csv`` (c vs depth at cutoff) and ``stripping_voids.png``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mpi4py import MPI

import numpy as np
from dolfinx import default_scalar_type, fem
from ssbx.fem.boundary import compiled_integral
from ssbx.fem.diffusion import Diffusion, Flux
from ssbx.fem.io import ResultDir, write_csv_atomic
from ssbx.fem.kinetics import ButlerVolmer
from ssbx.fem.li_creep import SizeDependentYield, creep_law_for
from ssbx.fem.materials import FARADAY, get_material
from ssbx.geometries.strip import build_strip
from ssbx.studies.config import choices, quantities, quantity

from ssbx.log import get_logger

DESCRIPTION = "Li and Li-Mg stripping: vacancy diffusion, interfacial voids, contact loss, critical current"
log = get_logger(__name__)
def to_mah_cm2(q: float) -> float:
    """C/m^2 -> mAh/cm^2."""
    return q / 3.6e4


@dataclass(frozen=True)
class ElectrodeMaterial:
    """Li metal: voids nucleate at a vacancy supersaturation of 1.2 % of the sites (assumed)."""

    void_forming: bool = True  # True: voids and contact loss; False: a skeleton keeps contact
    critical_site_fraction: float = 0.012  # Delta c / c_sites: voids nucleate / the skeleton stops supplying

    def __post_init__(self):
        if not 0 < self.critical_site_fraction < 1:
            raise ValueError(f"critical_site_fraction must lie in (0, 1), got {self.critical_site_fraction}")


@dataclass(frozen=True)
class LiMgElectrode(ElectrodeMaterial):
    """Li-Mg 10 %: the Mg skeleton keeps contact; it stops supplying Li once the interface has
    lost 60 % of its Li sites (assumed)."""

    void_forming: bool = False
    critical_site_fraction: float = 0.6


@dataclass(frozen=True)
class Config:
    electrodes: tuple = choices(("li", "li_mg10"), ("li", "li_mg10"))
    currents: tuple = quantities((1.0, 10.0), "current_density", doc="0.1 and 1 mA/cm^2")
    temperature: float = quantity(298.15, "temperature")
    li: ElectrodeMaterial = field(default_factory=ElectrodeMaterial)
    li_mg10: LiMgElectrode = field(default_factory=LiMgElectrode)
    electrode_thickness: float = quantity(100e-6, "length", doc="modelled depth of the stripped foil")
    cells: int = 400
    void_height: float = quantity(1e-6, "length", doc="void layer over which contact is lost (assumed)")
    se_thickness: float = quantity(500e-6, "length")
    se_conductivity: float = quantity(0.2, "conductivity", doc="Li6PS5Cl 2 mS/cm (DESIGN.md M3)")
    exchange_current: float = quantity(20.0, "current_density", doc="2 mA/cm^2 (assumed, DESIGN 1-5)")
    cutoff_voltage: float = quantity(0.2, "voltage", doc="assumed")
    max_capacity: float = quantity(5 * 3.6e4, "areal_capacity", doc="stop at 5 mAh/cm^2")
    stack_pressure: float = quantity(0.0, "pressure", "nonnegative")
    contact_spacing: float = quantity(1e-6, "length", doc="size of the Li region that creeps into a void (assumed)")
    hold_time: float = quantity(3600.0, "time", doc="critical current: run this long without cutoff")
    diffusivity_factors: tuple = quantities((0.1, 0.3, 1.0, 3.0, 10.0), "dimensionless",
                                            doc="x the material's D, for the critical current vs D")
    pressures: tuple = quantities((0.0, 1e6, 2e6, 5e6, 10e6), "pressure", "nonnegative")
    figure: bool = True

    def __post_init__(self):
        if self.cells < 10:
            raise ValueError(f"cells must be >= 10, got {self.cells}")


# -- one electrode under one current ----------------------------------------------------------
@dataclass
class Strip:
    material: str
    current: float
    times: list
    capacity: list
    voltage: list
    contact: list
    interface: list
    end: str  # "cutoff", "depleted", "capacity" or "time"
    profile: tuple  # (depth, c) at the end


class StrippedElectrode:
    """The electrode's vacancy field and interface state; :meth:`run` strips at one current."""

    def __init__(self, cfg: Config, comm: MPI.Comm, material: str, diffusivity_factor: float = 1.0, tag: str = ""):
        mat = get_material(material)
        mat.require("li_diffusivity", "molar_volume")
        self.cfg, self.name = cfg, material
        self.params: ElectrodeMaterial = getattr(cfg, material)
        self.D = mat.li_diffusivity * diffusivity_factor
        self.omega = mat.molar_volume
        self.c_crit = self.params.critical_site_fraction / self.omega  # mol/m^3
        self.width = 1e-6  # the cross-section is 1D: one cell across
        self.tm = build_strip(comm, self.width, cfg.electrode_thickness, 1, cfg.cells)
        self.injection = fem.Constant(self.tm.mesh, default_scalar_type(0.0))  # vacancy flux, mol/m^2/s
        # Crank-Nicolson while the interface value is followed to the threshold (second order, as
        # the B6 check); backward Euler once it is pinned (the switch is a jump in the flux)
        self.free = Diffusion(self.tm, self.D, fluxes=[Flux(("strip_bottom",), self.injection)],
                              theta=0.5, scale=self.c_crit, prefix=f"vac_free{tag}_")
        # after void nucleation the interface stays at the critical supersaturation
        self.pinned = Diffusion(self.tm, self.D, fixed=[(("strip_bottom",), self.c_crit)], scale=self.c_crit,
                                prefix=f"vac_pinned{tag}_")
        # read at every time step: compiled once
        self._interface = {c: compiled_integral(self.tm, c, facets=["strip_bottom"])
                           for d in (self.free, self.pinned) for c in (d.c, d.c_old)}
        self.kinetics = ButlerVolmer(exchange_current=cfg.exchange_current, temperature=cfg.temperature)
        # voids close by Perzyna creep of the Li around them: the contacts carry p / theta and
        # must exceed the micrometre-scale strength of the region that flows (contact spacing)
        self.creep = creep_law_for(material, cfg.temperature, "norton", where="electrode").at(
            yield_stress=float(SizeDependentYield()(cfg.contact_spacing)))

    def close(self) -> None:
        """Free both solvers' PETSc objects (collective)."""
        self.free.close()
        self.pinned.close()

    def interface_value(self, diff: Diffusion, old: bool = False) -> float:
        """Vacancy concentration at the interface (of the previous state with ``old``)."""
        return self._interface[diff.c_old if old else diff.c]() / self.width

    def voltage(self, current: float, contact: float) -> float:
        ohmic = current * self.cfg.se_thickness / self.cfg.se_conductivity
        strip = float(self.kinetics.overpotential(current / max(contact, 1e-12)))
        plate = float(self.kinetics.overpotential(current))  # Li counter electrode
        return ohmic + strip + plate

    def _close_voids(self, v_old: float, excess: float, dt: float, pressure: float) -> float:
        """Implicit step of dV/dt = Omega N_ex - V rate(p / theta(V)), V in [0, h_v]."""
        h = self.cfg.void_height

        def g(v):
            theta = max(1.0 - v / h, 1e-6)
            closing = v * float(self.creep.strain_rate(pressure / theta)) if pressure > 0 else 0.0
            return v - v_old - dt * (self.omega * excess - closing)

        lo, hi = 0.0, h
        if g(hi) <= 0:
            return h
        if g(lo) >= 0:
            return 0.0
        for _ in range(80):  # g is increasing in v
            mid = 0.5 * (lo + hi)
            if g(mid) > 0:
                hi = mid
            else:
                lo = mid
        return 0.5 * (lo + hi)

    def run(self, current: float, t_end: float | None = None, pressure: float | None = None,
            record: bool = True) -> Strip:
        cfg = self.cfg
        p = cfg.stack_pressure if pressure is None else pressure
        t_end = cfg.max_capacity / current if t_end is None else t_end
        for d in (self.free, self.pinned):
            d.c.x.array[:] = 0.0
            d.accept()
        self.injection.value = current / FARADAY
        t, v_void, pinned = 0.0, 0.0, False
        rec = {k: [] for k in ("times", "capacity", "voltage", "contact", "interface")}

        def log_state(contact, c0):
            if record:
                rec["times"].append(t)
                rec["capacity"].append(current * t)
                rec["voltage"].append(self.voltage(current, contact))
                rec["contact"].append(contact)
                rec["interface"].append(c0)

        log_state(1.0, 0.0)
        dt = min(1.0, t_end / 1e4)
        end = "capacity" if t_end * current >= cfg.max_capacity * (1 - 1e-12) else "time"
        while t < t_end * (1 - 1e-12):
            dt = min(dt, t_end - t)
            if not pinned:
                self.free.step(dt)
                c0 = self.interface_value(self.free)
                if c0 >= self.c_crit:
                    # the critical supersaturation is reached inside this step: shorten it to land
                    # on it (the interface value grows monotonically, ~sqrt(t))
                    c_prev = self.interface_value(self.free, old=True)
                    frac = (self.c_crit - c_prev) / (c0 - c_prev)
                    self.free.reject()
                    if frac * dt > 1e-9 * max(t, 1.0):
                        self.free.step(frac * dt)
                        self.free.accept()
                        t += frac * dt
                    if not self.params.void_forming:
                        end = "depleted"
                        log_state(1.0, self.c_crit)
                        break
                    pinned = True
                    self.pinned.c.x.array[:] = self.free.c.x.array
                    self.pinned.accept()
                    log_state(1.0, self.c_crit)
                    continue
                self.free.accept()
                t += dt
                log_state(1.0, c0)
            else:
                inv_old = self.pinned.inventory()
                self.pinned.step(dt)
                carried = (self.pinned.inventory() - inv_old) / (dt * self.width)  # mol/m^2/s into the bulk
                excess = max(current / FARADAY - carried, 0.0)
                v_new = self._close_voids(v_void, excess, dt, p)
                contact_now = 1.0 - v_void / cfg.void_height
                if (v_new - v_void) / cfg.void_height > max(0.05 * contact_now, 1e-5) and dt > 1e-9 * t:
                    # the contact may not drop by more than 5 % of itself per step: the voltage
                    # rises steeply near loss of contact and the cutoff must be located, not overshot
                    self.pinned.reject()
                    dt *= 0.5
                    continue
                self.pinned.accept()
                v_void = v_new
                t += dt
                contact = 1.0 - v_void / cfg.void_height
                log_state(contact, self.c_crit)
                if self.voltage(current, contact) >= cfg.cutoff_voltage or contact <= 1e-6:
                    end = "cutoff"
                    break
            dt = min(dt * 1.15, t_end / 200)
        profile = self.profile(self.pinned if pinned else self.free)
        return Strip(self.name, current, rec["times"], rec["capacity"], rec["voltage"], rec["contact"],
                     rec["interface"], end, profile)

    def profile(self, diff: Diffusion) -> tuple[np.ndarray, np.ndarray]:
        """(depth, concentration) along one edge of the cross-section, gathered on all ranks."""
        n = diff.V.dofmap.index_map.size_local
        xy = diff.V.tabulate_dof_coordinates()[:n]
        edge = np.abs(xy[:, 0]) < 1e-9 * self.width
        parts = self.tm.comm.allgather((xy[edge, 1], diff.c.x.array[:n][edge]))
        depth = np.concatenate([p[0] for p in parts])
        conc = np.concatenate([p[1] for p in parts])
        order = np.argsort(depth)
        return depth[order], conc[order]

    def critical_current_saturation(self, hold: float) -> float:
        """Current at which the interface reaches Delta c exactly at ``hold`` (linear in i: one
        run at 1 A/m^2, no voids)."""
        self.free.c.x.array[:] = 0.0
        self.free.accept()
        self.injection.value = 1.0 / FARADAY
        t, dt = 0.0, hold / 2000
        while t < hold * (1 - 1e-12):
            step = min(dt, hold - t)
            self.free.step(step)
            self.free.accept()
            t += step
        return self.c_crit / self.interface_value(self.free)


def critical_current_hold(model: StrippedElectrode, pressure: float, hold: float, lo=0.01, hi=100.0) -> float:
    """Highest current (A/m^2) that strips for ``hold`` without cutoff (bisection in log i)."""
    def survives(i):
        return model.run(i, t_end=hold, pressure=pressure, record=False).end in ("time", "capacity")

    if not survives(lo):
        return lo
    if survives(hi):
        return hi
    for _ in range(10):  # 4 decades / 2^10: 1 % in current
        mid = math.sqrt(lo * hi)
        if survives(mid):
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def run(cfg: Config, comm: MPI.Comm, out: ResultDir) -> dict:
    results: dict = {}
    rows_v, rows_q, rows_d, rows_p, rows_prof = [], [], [], [], []
    strips = []
    for name in cfg.electrodes:
        model = StrippedElectrode(cfg, comm, name, tag=f"_{name}")
        for i in cfg.currents:
            s = model.run(i)
            strips.append(s)
            q = s.capacity[-1]
            results[f"capacity_{name}_{i / 10:g}mA_cm2_mAh_cm2"] = to_mah_cm2(q)
            rows_q.append({"material": name, "current_density": i, "capacity": q,
                           "capacity_mAh_cm2": to_mah_cm2(q), "end": s.end, "time": s.times[-1]})
            rows_v += [{"material": name, "current_density": i, "time": t, "capacity": c, "voltage": v,
                        "contact": th, "interface_concentration": c0}
                       for t, c, v, th, c0 in zip(s.times, s.capacity, s.voltage, s.contact, s.interface, strict=True)]
            rows_prof += [{"material": name, "current_density": i, "depth": z, "concentration": c}
                          for z, c in zip(*s.profile, strict=True)]
            log.info("%s at %.2g mA/cm^2: %.3f mAh/cm^2 stripped (%s)", name, i / 10, to_mah_cm2(q), s.end)
        for f in cfg.diffusivity_factors:
            m = StrippedElectrode(cfg, comm, name, diffusivity_factor=f, tag=f"_{name}_D{f:g}")
            j = m.critical_current_saturation(cfg.hold_time)
            closed = FARADAY * m.c_crit / 2 * math.sqrt(math.pi * m.D / cfg.hold_time)
            rows_d.append({"material": name, "diffusivity": m.D, "critical_current": j, "closed_form": closed})
            m.close()
        for p in cfg.pressures:
            j = critical_current_hold(model, p, cfg.hold_time)
            rows_p.append({"material": name, "stack_pressure": p, "critical_current": j})
            log.info("%s: critical current %.3g mA/cm^2 at %.2g MPa", name, j / 10, p / 1e6)
        model.close()
    slope = {}
    for name in cfg.electrodes:
        pts = [(r["diffusivity"], r["critical_current"]) for r in rows_d if r["material"] == name]
        x, y = np.log([d for d, _ in pts]), np.log([j for _, j in pts])
        slope[name] = float(np.polyfit(x, y, 1)[0])
        results[f"critical_current_D_exponent_{name}"] = slope[name]
    if comm.rank == 0:
        write_csv_atomic(out.file("voltage_vs_capacity.csv"), rows_v)
        write_csv_atomic(out.file("capacity.csv"), rows_q)
        write_csv_atomic(out.file("critical_current_vs_D.csv"), rows_d)
        write_csv_atomic(out.file("critical_current_vs_pressure.csv"), rows_p)
        if rows_prof:
            write_csv_atomic(out.file("vacancy_profiles.csv"), rows_prof)
        if cfg.figure:
            plot(strips, rows_d, rows_p, slope, out.file("stripping_voids.png"))
    comm.barrier()
    return results


def plot(strips, rows_d, rows_p, slope, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    styles = {"li": "-", "li_mg10": "--"}
    labels = {"li": "Li", "li_mg10": "Li-Mg 10%"}
    for s in strips:
        axes[0].plot([to_mah_cm2(q) for q in s.capacity], s.voltage, styles[s.material],
                     label=f"{labels[s.material]}, {s.current / 10:g} mA/cm$^2$ ({s.end})")
    axes[0].set_xlabel("stripped capacity (mAh/cm$^2$)")
    axes[0].set_ylabel("cell voltage (V)")
    axes[0].set_xscale("log")
    axes[0].legend(fontsize=7)
    axes[0].set_title("stripping until cutoff")
    for name in sorted({r["material"] for r in rows_d}):
        pts = [(r["diffusivity"] * 1e4, r["critical_current"] / 10, r["closed_form"] / 10) for r in rows_d
               if r["material"] == name]
        axes[1].loglog([p[0] for p in pts], [p[1] for p in pts], "o",
                       label=f"{labels[name]} FE (slope {slope[name]:.3f})")
        axes[1].loglog([p[0] for p in pts], [p[2] for p in pts], "k:", lw=0.8)
    axes[1].set_xlabel("D (cm$^2$/s)")
    axes[1].set_ylabel("critical current (mA/cm$^2$)")
    axes[1].set_title(r"voids within the hold: $j \propto \sqrt{D}$ (dotted: B6)")
    axes[1].legend(fontsize=7)
    for name in sorted({r["material"] for r in rows_p}):
        pts = sorted((r["stack_pressure"] / 1e6, r["critical_current"] / 10) for r in rows_p if r["material"] == name)
        axes[2].plot([p for p, _ in pts], [j for _, j in pts], styles[name], marker="o", label=labels[name])
    axes[2].set_xlabel("stack pressure (MPa)")
    axes[2].set_ylabel("critical current (mA/cm$^2$)")
    axes[2].set_yscale("log")
    axes[2].set_title("no cutoff within the hold")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
