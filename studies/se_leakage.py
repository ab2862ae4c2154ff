"""# Study `se_leakage`: above which electronic conductivity Li0 forms inside the solid electrolyte

What is simulated (DESIGN.md section 1 "SE electronic leakage", M3): a Li6PS5Cl separator on a
Li anode, plated galvanostatically (Li+ arrives from the cathode side). The SE conducts Li+
(sigma_ion) and, weakly, electrons (sigma_e, swept from the measured 3.2e-9 S/cm to 1e-3 S/cm).

Model (ssbx.fem.mixed_conduction, steady): Li+ potential phi_e and electron potential phi_s in
the SE. The Li anode is the Li+ electrode (Butler-Volmer) and the SE's only electronic contact
(phi_s = 0); the cathode side delivers Li+ at the applied current and blocks electrons (the
cathode interphase; assumed). Inside the SE, Li+ + e- -> Li0 can run on internal surfaces (grain
boundaries, pores: specific area ``specific_area``, assumed) wherever the local overpotential
eta = phi_s - phi_e has passed the nucleation barrier (20 mV, DESIGN.md M3) - the ionic ohmic
drop makes eta more negative with distance from the anode, so beyond a depth the SE would host
Li0 if electrons get there. How many do is what sigma_e decides: the reaction can only use the
electronic current the SE conducts from the anode.

Outputs: ``leakage.csv`` (sigma_e, share of the applied current plated inside the SE, nucleated
depth range), ``profiles.csv`` (eta and the internal plating current density vs depth per
sigma_e), ``se_leakage.png``. "Li0 forms inside" is reported when the internal share exceeds
``detection_share`` (1 %).
"""

from __future__ import annotations

from dataclasses import dataclass

from mpi4py import MPI

import numpy as np
from dolfinx import default_scalar_type, fem
from ssbx.fem.conduction import Electrode
from ssbx.fem.io import ResultDir, write_csv_atomic
from ssbx.fem.kinetics import ButlerVolmer, NucleationBarrier
from ssbx.fem.mixed_conduction import ElectronicContact, MixedConduction
from ssbx.geometries.strip import build_strip
from ssbx.studies.config import quantities, quantity

from ssbx.log import get_logger

DESCRIPTION = "Li0 formation inside an electronically leaky SE vs its electronic conductivity"
log = get_logger(__name__)


@dataclass(frozen=True)
class Config:
    electronic_conductivities: tuple = quantities((3.2e-7, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1), "conductivity",
                                                  doc="S/m: 3.2e-9 S/cm (measured) to 1e-3 S/cm")
    ionic_conductivity: float = quantity(0.2, "conductivity", doc="Li6PS5Cl 2 mS/cm (DESIGN.md M3)")
    current_density: float = quantity(10.0, "current_density", doc="1 mA/cm^2 plating")
    thickness: float = quantity(500e-6, "length")
    cells: int = 250
    exchange_current: float = quantity(20.0, "current_density", doc="2 mA/cm^2 (assumed)")
    specific_area: float = quantity(1e5, "specific_area", doc="internal surface per volume (assumed)")
    nucleation_barrier: float = quantity(0.020, "voltage", doc="DESIGN.md M3")
    detection_share: float = 0.01
    figure: bool = True

    def __post_init__(self):
        if self.cells < 10:
            raise ValueError(f"cells must be >= 10, got {self.cells}")
        if not 0 < self.detection_share < 1:
            raise ValueError(f"detection_share must lie in (0, 1), got {self.detection_share}")


@dataclass
class Leakage:
    electronic_conductivity: float
    inside_share: float  # share of the applied current plated inside the SE
    nucleated_from: float  # depth (m) where the nucleated region starts (nan: none)
    depth: np.ndarray
    eta: np.ndarray  # local overpotential at steady state (nucleated sites plate without barrier)
    eta_before: np.ndarray  # before any nucleation: where it passes -barrier, Li0 nucleates
    plating: np.ndarray  # internal plating current density (A/m^3, > 0 plating)


def solve_case(cfg: Config, comm: MPI.Comm, sigma_e: float, tag: str = "") -> Leakage:
    width = 10e-6
    tm = build_strip(comm, width, cfg.thickness, 1, cfg.cells)
    bv = ButlerVolmer(exchange_current=cfg.exchange_current)
    zero = fem.Constant(tm.mesh, default_scalar_type(0.0))
    mc = MixedConduction(tm, cfg.ionic_conductivity, sigma_e, bv, specific_area=cfg.specific_area,
                         electrodes={"li": Electrode(("strip_bottom",), bv)},
                         contacts=[ElectronicContact(("strip_bottom",), zero)],
                         ionic_fluxes=[(("strip_top",), cfg.current_density)],
                         nucleation=NucleationBarrier(cfg.nucleation_barrier), prefix=f"leak{tag}_")
    mc.solve()
    before = mc.local_overpotential().x.array.copy()
    mc.solve_with_nucleation()
    share = -mc.reaction_current() / (cfg.current_density * width)
    V1 = mc.nucleated.function_space
    rate = fem.Function(V1)
    rate.interpolate(fem.Expression(-mc.reaction, V1.element.interpolation_points))
    n = V1.dofmap.index_map.size_local
    xy = V1.tabulate_dof_coordinates()[:n]
    edge = np.abs(xy[:, 0]) < 1e-9
    parts = comm.allgather((xy[edge, 1], mc.local_overpotential().x.array[:n][edge], before[:n][edge],
                            rate.x.array[:n][edge], mc.nucleated.x.array[:n][edge]))
    depth, eta, eta0, plating, nuc = (np.concatenate([p[k] for p in parts]) for k in range(5))
    order = np.argsort(depth)
    depth, eta, eta0, plating, nuc = depth[order], eta[order], eta0[order], plating[order], nuc[order]
    mc.close()
    start = float(depth[nuc > 0.5].min()) if np.any(nuc > 0.5) else float("nan")
    return Leakage(sigma_e, float(share), start, depth, eta, eta0, plating)


def run(cfg: Config, comm: MPI.Comm, out: ResultDir) -> dict:
    rows, rows_p, cases = [], [], []
    for k, sigma_e in enumerate(cfg.electronic_conductivities):
        c = solve_case(cfg, comm, sigma_e, tag=f"_{k}")
        cases.append(c)
        rows.append({"electronic_conductivity": sigma_e, "electronic_conductivity_S_cm": sigma_e / 100,
                     "inside_share": c.inside_share, "nucleated_from_depth": c.nucleated_from,
                     "li_forms_inside": c.inside_share >= cfg.detection_share})
        rows_p += [{"electronic_conductivity": sigma_e, "depth": z, "eta_before_nucleation": e0, "eta": e,
                    "internal_plating": p} for z, e0, e, p in zip(c.depth, c.eta_before, c.eta, c.plating, strict=True)]
        log.info("sigma_e = %.2g S/cm: %.3g of the current plates inside the SE (nucleated beyond %.0f um)",
                 sigma_e / 100, c.inside_share, c.nucleated_from * 1e6)
    onset = [c.electronic_conductivity for c in cases if c.inside_share >= cfg.detection_share]
    results = {"onset_electronic_conductivity_S_cm": (min(onset) / 100) if onset else None}
    for c in cases:
        results[f"inside_share_{c.electronic_conductivity / 100:.2g}S_cm"] = c.inside_share
    if comm.rank == 0:
        write_csv_atomic(out.file("leakage.csv"), rows)
        write_csv_atomic(out.file("profiles.csv"), rows_p)
        if cfg.figure:
            plot(cases, cfg, out.file("se_leakage.png"))
    comm.barrier()
    return results


def plot(cases, cfg: Config, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    s = [c.electronic_conductivity / 100 for c in cases]
    ax.loglog(s, [max(c.inside_share, 1e-12) for c in cases], "o-")
    ax.axhline(cfg.detection_share, color="0.6", ls=":", lw=0.8)
    ax.axvline(3.2e-9, color="C3", ls="--", lw=0.8, label="measured 3.2e-9 S/cm")
    ax.set_xlabel(r"SE electronic conductivity $\sigma_e$ (S/cm)")
    ax.set_ylabel("share of the current plating inside the SE")
    ax.set_title(f"Li0 inside the SE at {cfg.current_density / 10:g} mA/cm$^2$")
    ax.legend(fontsize=7)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(cases)))
    ax2.plot(cases[0].depth * 1e6, cases[0].eta_before * 1e3, "k--", lw=1, label="before nucleation")
    for c, col in zip(cases, colors, strict=True):
        ax2.plot(c.depth * 1e6, c.eta * 1e3, color=col, label=f"{c.electronic_conductivity / 100:.1g} S/cm")
    ax2.axhline(-cfg.nucleation_barrier * 1e3, color="0.4", ls=":", lw=0.8)
    ax2.set_xlabel("distance from the Li anode (um)")
    ax2.set_ylabel(r"local overpotential $\phi_s - \phi_e$ (mV)")
    ax2.set_title("Li0 nucleates beyond the barrier crossing (dotted)")
    ax2.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
