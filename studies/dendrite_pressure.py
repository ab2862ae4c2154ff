"""# Study `dendrite_pressure`: Li dendrites in a porous SE under external pressure (soft vs hard short)

What is simulated (DESIGN.md section 1 "Soft vs hard short", M4): a Li anode (left) against a porous
Li6PS5Cl separator (pores ~10 um mean diameter at 16.25 % porosity, seeded random sequential
addition, :mod:`ssbx.geometries.porous`), four initial Li protrusions on the anode surface, a cell
voltage of -0.35 V between the anode collector (x = 0) and the counter electrode (the right face of
the SE), and an external pressure on the SE face (0 / 5 / 10 MPa; the anode face is held in x, the
bottom and top faces in y, ``lateral_faces = "roller"``: a slice of a wide cell; "free" frees the
top). Li plates and grows into the SE; where it grows, and whether it bridges the cell, is what the
pressure changes.

Model: :class:`ssbx.fem.phase_field.PhaseFieldDendrite` (Chen 2015 family, see its docstring):
Allen-Cahn with Butler-Volmer for the Li order parameter xi, the single-ion electrolyte (a Li+
potential in the SE and an electron potential in the Li, eta = phi_e - phi; Chen's Nernst-Planck
with one potential is ``electrolyte = "nernst_planck"``), plane-strain elasticity with a
deposition eigenstrain eps0 h(xi) I.
Pores are static (rho = 0 in the ``pore`` cells) by default, or evolve by Cahn-Hilliard
(``pore_evolution``, below): they keep ``pore_fraction`` of the SE stiffness and
``pore_transport_fraction`` of its Li+ transport, and Li may grow into them. Both Li and SE are
elastic at this scale (DESIGN.md), with part of the deposition misfit relaxed (below).

Outputs per case (one pressure): ``history.csv`` (t, leakage (electronic) current at the counter
electrode, plating current, Li volume, attached/dead Li volume, dead clusters, isolated Li (dead
Li with no electron path to the anode), shorted, hydrostatic
pressure in the Li that grew into the SE: volume mean and peak, Li in pores), ``fields.bp``/
``fields.pvd`` (xi, phi_e (or c~), phi, u, hydrostatic pressure, volumetric strain, pore marker) at
``snapshot_times``, ``snapshots.npz`` (cell-midpoint fields for the figures),
``dendrite_pressure.png`` (morphology, pressure, volumetric strain at the snapshot times; leakage
current vs time) and results: short time (None: no short), dead and isolated Li volume, peak/mean
pressure in Li. ``checkpoints/`` holds a checkpoint each ``checkpoint_interval``, one at the end and
one on a failed solve; ``restart_from`` (a path, or "latest": the newest of this case's earlier
runs, e.g. a job killed at its wall-time limit) goes on from one with its history, bookkeeping,
snapshots and next step, so the continued run is the uninterrupted one (:func:`simulate`).

Comparison of a sweep: ``python -m ssbx.studies.dendrite_pressure compare results/dendrite_pressure``
finds the complete cases below that folder and draws morphology panels per pressure, the leakage
current vs time and the pressure in the dendrites (``comparison.png`` + ``comparison.csv``).
Pore-layout ensemble: ``python -m ssbx.studies.dendrite_pressure ensemble ROOT... -o FIG.png``
gathers the complete cases below several folders that differ in ``seed`` and
``external_pressure`` only (it refuses others) and draws the end states (a row per seed), the
electronic current after the first short, the first-short time and kind, and the share of the
grown Li in and along pores against the pressure (:func:`ensemble`; FIG.csv and a markdown table
on stdout). :func:`typical_seeds` lists the typical pore layouts to draw the seeds from.

Choices made here (all config fields; "assumed" = no literature value):
* Electrolyte: single ion (``electrolyte = "single_ion"``, the default since 2026-11-21). Li6PS5Cl
  conducts Li+ only, at a fixed concentration: the Li+ potential phi and the electron potential
  phi_e are separate fields, eta = phi_e - phi includes the ohmic drop in the SE, and the SE's
  measured electronic conductivity (3.2e-7 S/m) carries the leakage current until Li bridges the
  cell. With Chen's Nernst-Planck electrolyte (one potential, c~) growth is limited by the Li+
  supply, so a kinetic penalty such as the elastic driving force is absorbed by Li+ piling up at
  the front (c~ rises until Butler-Volmer overcomes it) and pressure never slows growth (results
  below). In the single-ion model the penalty can only be paid with overpotential, which at a
  fixed cell voltage means less current.
* Deposition eigenstrain eps0 = 1e-2 with ``misfit_relaxation`` r = 0.98 (both assumed; the
  fingering regime's values, the default's since 2026-11-22, before: 4e-3 and 0.95), carried only
  by Li deposited after t = 0 (the initial anode and protrusions are the stress-free reference).
  eps0 sets the work of deposition against the local stress, 3 eps0 p = 3e5 J/m^3 at 10 MPa: in
  the Allen-Cahn equation L_sigma 3 eps0 p = 0.75 1/s against the Butler-Volmer term L_eta B =
  0.09 1/s at the start (eta ~ -0.2 V; at most 1.6 1/s at -0.35 V). By the stall law a front
  stands still at eta* = -0.22 / -0.27 / -0.31 V under 1.6 / 5 / 10 MPa, so 5-10 MPa leave it
  little of the -0.35 V; it stops where the Li is at 22 MPa. r leaves (1 - r) eps0 = 2e-4 of
  misfit to stress the solids (Li creep relaxes the rest): a self-stress of ~2 MPa, below the
  applied pressures (without r the self-stress of new Li holds growth back at 0 MPa as much as the
  load does).
* Pores keep ``pore_fraction`` = 1e-3 of the SE stiffness and ``pore_transport_fraction`` = 1e-3
  of its Li+ (and electronic) conduction: "near zero" (DESIGN.md; the value is assumed). Li may
  grow into a pore, fed along its walls by the SE around it.
* Pores are static (``pore_evolution = "static"``). ``"cahn_hilliard"`` evolves rho instead
  (:mod:`ssbx.fem.pore_evolution`, mobility ``pore_mobility``, assumed: the P, S and Cl framework
  of Li6PS5Cl does not diffuse at room temperature, so there is no measured value), conserving the
  SE volume, with the Li phase field's W and kappa and the elastic driving force. At these loads
  that force is small: ~p^2/(2 E_SE) = 2e3 J/m^3 at 10 MPa, ~1 % of the capillary driving force
  gamma/R = 2e5 J/m^3 of a 5 um pore, so the pores evolve by capillarity (they round off; pores
  about as wide as two interface widths dissolve: the tiny-cell test). The results then carry the
  SE volume drift (round-off) and the pore area at the end.
* Electronic conductivity h(xi) sigma_Li + (1 - h) sigma_e,SE (``conduction_exponent`` n = 1, Chen
  2015). With two potentials, n >= 4 leaves the lower half of the diffuse interface without
  electrons and the first Newton step already fails (n = 4, 8 tried; n = 2 runs).
* Short detection: (a) a cluster of Li cells (xi > ``li_threshold``) touching anode and counter
  facets (:func:`ssbx.fem.connectivity.li_connectivity`), or (b) an electronic short: electrons
  that cross the whole SE carry more than ``short_electronic_fraction`` of the counter-electrode
  current (:meth:`Diagnostics.through_current`: the least electron current through 8 slabs; a dead
  island touching the counter electrode carries its current electronically but shorts nothing).
  (b) comes before (a). Until 2026-11-22 (b) asked for the Li phase's share of the counter current
  and a chain of cells with xi > conducting_xi at their midpoints, which missed bridges thinner
  than a cell along a face.
* Series resistance (``series_resistance``, 0 = ideal by default; the fingers config: 0.1 ohm cm^2,
  assumed for leads and the collector contact) between the source and the anode collector. Until
  the short it costs i R_s (~10 mV at 1000 A/m^2); after it, it caps the current at V/R_s = 3.5e4
  A/m^2, so the run can follow the short for ``time_after_short`` and :func:`short_behaviour`
  tells whether it holds at the full level (hard), holds through a resistive bridge (partial) or
  opens again (soft: the electronic current falls below half of its peak). With an ideal collector
  nothing bounds the current through a Li bridge, and the step collapses to ~1 ms right after the
  short.
* Pore layout (``seed``): 18, the first typical layout of seeds 0-199 (:func:`typical_seeds`:
  18, 23, 33, 70, ...): 5 pores (the median count), the largest 11.7 um across (median 12.8 um),
  the nearest pore edge at x = 14.4 um (median 13.3 um; the protrusion tips reach 13 um), none
  touching a protrusion. A 60 x 40 um cell holds only ~5 pores, so one draw decides which pores a
  front meets. Until 2026-11-22 the cells used seed 3, a rare draw: 3 pores, one 17.6 um across
  (larger than in 98.5 % of the seeds), none before x = 21.8 um (further than in 92 %). Results
  with it are marked "seed 3" below.
* Pore diagnostics: Li in pores (cells with rho < 1/2), Li along pore walls (within
  ``pore_wall_band`` outside a pore, as built), Li in the pore cores (deeper than the band inside
  a pore) and the fullest pore's fill (its Li / its area): a pore that fills has Li in its core,
  one that is lined does not.
* Scaled-down default: a 60 x 40 um cell (Li 8 um + SE 52 um), interface width 1.5 um (2x the
  Chen value: kappa x 4), mesh 0.4 um near pores and 0.8 um elsewhere, 1000 s (0 and 5 MPa short
  within it, 10 MPa not); the full 1000 x 500 um, 500 s case at the native interface width is
  ``configs/dendrite_pressure_full.toml``
  (cluster; not run).

What the model gives (default config, seed 18, 1 rank each, 34.5k dofs, 7-11 min per case;
measured 2026-11-22; results/dendrite_pressure/default-sweep). The SE's ionic resistance limits
growth (~430 A/m^2 at 0 MPa at 100 s, -0.35 V over ~50 um of SE). The protrusions merge into one
front within the first minute (the interface energy outweighs the weak focusing of an ohmic
current on them): this model grows a wavy front, not branched fingers.
* 0 / 5 / 10 MPa: plating current at 100 s 431 / 228 / 152 A/m^2; Li grown into the SE by 400 s
  1292 / 595 / 396 um^2 (front 52 / 25 / 19 um from the anode collector). Pressure suppresses
  growth, more with more pressure: the stall overpotential of the Li's pressure, -0.22 / -0.27 /
  -0.31 V, leaves the front less and less of the -0.35 V.
* Hard short at 408 / 739 s at 0 / 5 MPa: the electronic part of the counter current rises from
  the SE's own leakage (0.03-0.9 A/m^2 just before) past 1e4 A/m^2 within ~10 s and is then 97 %
  of the counter current. At 10 MPa no short within the 1000 s: the leakage stays the SE's
  electronic current, 2.0e-3 -> 5.0e-3 A/m^2, rising smoothly as the front closes in (after the
  first 5 s no step raises it by more than 0.5 %; at a short one step multiplies it by 8-19).
  Continued from its 1000-s checkpoint (restart_from; results/
  dendrite_pressure/default-10MPa-extended) the 10 MPa cell shorts at 1200 s with the same jump
  (0.04 -> 2.6e4 A/m^2 within 24 s): pressure delays the short, it does not prevent it.
* The front fills the pores it meets: the fullest pore is full (fill 1.0) at every pressure, Li in
  pores at the end 209 / 198 / 126 um^2 (78 / 75 / 43 um^2 of it in the pore cores); 15 % of the
  grown Li lies along pore walls at every pressure.
* Hydrostatic pressure in the grown Li rises with the applied pressure: peak 3.0 / 13.3 / 27.2 MPa,
  mean at the end 1.6 / 5.2 / 9.0 MPa (SE 0.05 / 4.2 / 8.4 MPa). The peaks sit where Li fills a
  pore, and they fluctuate as it does.
* No dead Li at any pressure, and no fluctuating leakage at 10 MPa.
* The next two typical layouts (seeds 23, 33; results/dendrite_pressure/default-seeds-10MPa and
  default-seeds-0-5MPa) give the same order: shorts at 494 / 481 s unloaded and 929 / 919 s at
  5 MPa, each a jump (x6-35 in one step), and none within 1000 s at 10 MPa.
* With the previous coupling (eps0 = 4e-3, r = 0.95, 700 s; measured 2026-11-22 with the "wired"
  short criterion) every pressure shorted, equally hard: plating at 100 s 542 / 362 / 286 A/m^2,
  shorts at 348 / 491 / 609 s, Li in pores 203 / 212 / 203 um^2, peak pressure 2.9 / 13.5 / 27.1
  MPa. The seed-3 and R_s results below are with that coupling.
* Seed 3 (2026-11-21, results/dendrite_pressure/default-seed3-sweep): the same picture, shorts at
  371 / 510 / 650 s, Li in pores 155 / 143 / 128 um^2, peak pressure 2.7 / 15.5 / 31.5 MPa.
* Seed 3, behind R_s = 0.1 ohm cm^2, followed 30 s past the short (exploration, t_end 760 s): the electronic
  leakage sets in (> 100 A/m^2) at 384 / 531 / 678 s. 30 s later it carries 33 / 24 / 19 % of V/R_s,
  still rising (partial shorts through the front's diffuse edge; the collector keeps -0.23 / -0.27 /
  -0.28 V). At 10 MPa the edge stays below the "wired" criterion (xi > 1.3e-3 at cell midpoints),
  so no short was flagged (the criterion is now the electron current through the SE).
* Seed 18 behind R_s = 0.1 ohm cm^2, followed 100 s past the short (exploration, t_end 850 s,
  2026-11-22, results/dendrite_pressure/default-rs-sweep): the leakage sets in at 365 / 516 / 635 s,
  rises ~7x over the ionic current within 10 s, and 100 s later carries 40 / 26 / 21 % of V/R_s,
  still rising towards the stall law's 52 / 34 / 27 % (collector -0.206 / -0.256 / -0.276 V against
  eta* = -0.168 / -0.230 / -0.257 V of the Li's mean pressure 1.6 / 5.3 / 9.0 MPa). With Chen's
  slow kinetics no short is hard, even unloaded (the misfit self-stress alone stalls Li at -0.17 V),
  and the bridge thickens slowly. At 10 MPa 98 % of the counter current is electronic but no short
  was flagged (the "wired" criterion again, since replaced).

Nernst-Planck electrolyte (the default until 2026-11-21; seed 3): ``electrolyte = "nernst_planck"``,
``deposition_strain = 0.02``, ``pore_transport_fraction = 1``, ``conduction_exponent = 8``,
``t_end = 120 s``, with D_l = sigma_SE RT/(F^2 c0) = 5.3e-11 m^2/s (``consistent_transport``;
DESIGN's 3.2e-10 m^2/s makes migration carry 6x the conduction current and the porous cell runs
away within ~1 s). Li+ supply limits growth, the four protrusions grow into fingers, and one of
them fills the first pore and runs on to the counter electrode.
* 0 / 5 / 10 MPa: pinch-off into dead Li only under pressure (42.4 / 35.0 s at 5 / 10 MPa, up to
  226 / 230 um^2). Electronic short at 53.8 / 46.6 / 42.9 s, with a jump of 31x / 20x / 9x per step.
  Peak Li pressure 13.0 / 18.5 / 28.2 MPa. Pressure does not slow growth: the stress-free pores
  draw the Li, and it shorts sooner with more pressure.
* Variants (0 and 10 MPa, none slowing growth with pressure):
  - n = 1: pinch-off at all pressures, short at 37.9 / 30.2 s through the still metallic neck;
  - n = 16: no pinch-off; at 0 MPa Newton fails at 64 s;
  - eps0 = 2e-3 with r = 0 (the default before that): one finger along the top face, short at
    ~36 s at every pressure;
  - 10 % pore transport: the top-face finger again;
  - E_Li = 0.1 GPa: a planar front, the solve fails at ~40 s;
  - eps0 = 0.05 with r = 0.98: plating is held back for ~0.5 s, then resumes as Li+ piles up.
* Running on after the short fails in Newton about 1 s later.

Single-ion variants (seed 3; 0 and 10 MPa, 120 s unless stated):
* Pores conducting like the SE (``pore_transport_fraction = 1``, 400 s): short at 264 s at 0 MPa,
  front at 44 um at 10 MPa by 400 s; the front passes through the pores instead of wrapping them.
* eps0 = 0.02 (with r = 0.95): growth almost stops at both pressures. The self-stress of new Li
  (~10 MPa) costs as much as the load.
* L_sigma / 10 with eps0 = 0.04, and L_sigma / 100 with eps0 = 1/3 (the full volume of new Li working
  against p): meant to weaken the interface energy so that fingers form. The first still gives a
  planar front. In the second the reaction outruns the interface relaxation (L_sigma W = 0.11 1/s)
  and xi smears into a diffuse cloud.
* n = 4 or 8 fails at the first step; n = 2 runs.
* Chen's interface width 0.75 um (mesh 0.25 um, 0 MPa, 100 s): the protrusions merge into a planar
  front by 25 s as well; the interface energy still wins at this protrusion size (R = 3 um).

Fingering regime (``configs/dendrite_pressure_fingers.toml``: the default with
``reaction_constant`` = 0.054 1/s, 30x Chen's L_eta, ``curvature_fraction`` = 0, eps0 = 1e-2 with
r = 0.98 (the same 2e-4 of self-stressing misfit), 150 s; all assumed).
Why the default front stays planar: a bump of wavenumber k on the front grows through current
focusing at ~ v k s (v the front speed, s the share of the local resistance that is ohmic rather
than kinetic) and, in Chen's Allen-Cahn equation, decays through curvature flow at L_sigma kappa k^2.
Here v ~ 0.07 um/s (the SE's ohmic limit at -0.35 V) and L_sigma kappa = 12.5 um^2/s, so every
wavelength that fits the cell is stable. That curvature flow is a kinetic property of the diffuse
interface (Li's own capillary shift at R = 3 um is ~20 uV), and ``curvature_fraction`` removes it
(verified on a shrinking disc). Kinetics matter too: with Chen's L_eta (i0 = 3 F C_s L_eta delta =
6 mA/cm^2 at this width) the Tafel slope (51 mV) dwarfs the few mV of field gain at a 5 um tip, so
s is small. With L_eta 30x (i0 = 180 mA/cm^2, fast charge transfer at Li|SE) the ohmic field decides
where Li plates. Each change alone (eps0 = 4e-3): f = 0 with Chen's L_eta merges the protrusions by
150 s; 30x L_eta with f = 1 grows one bulge (short at 139 s); 10x L_eta with f = 0 advances the front
23 um by 68 s against 37 um at 30x (stopped there).
Since 2026-11-22 the config also puts a series resistance R_s = 0.1 ohm cm^2 (assumed: leads and
collector contact) between the source and the anode collector and follows each case for 30 s past
its first short (``time_after_short``; ``t_end`` 150 s, snapshots every 25 s), and (session 9) its
pores pass 5 % of the SE's Li+ conduction (``pore_transport_fraction`` = 0.05, assumed; 1e-3
before): Li that reaches a pore can grow into it along its wall, fed through the thin pore layer
next to the wall.

Measured with seed 18 (the sweep, 1 rank per case, 34 / 49 / 48 min at 0 / 5 / 10 MPa; 33.8k dofs;
results/dendrite_pressure/fingers-sweep):
* First short at 57.3 / 42.5 / 43.4 s (0 / 5 / 10 MPa). Plating at 25 s 967 / 882 / 790 A/m^2:
  pressure slows the bulk of the growth (Li grown by the end 418 / 261 / 252 um^2).
* 0 MPa, hard: the protrusions merge into a rough front that fills the small pore next to it (62 %
  of its area, 3.4 um^2 in its core), branches past it from the top protrusion (y ~ 34 um) and runs
  to the counter electrode. The electronic current reaches 93 % of V/R_s within 1 s and holds at
  89-93 % (the collector at -39 mV).
* 5 MPa, partial: the protrusions stall as stubs; a thin straight dendrite grows from the top
  protrusion along its axis (y = 34-36 um; the top face is at 40 um) and shorts; the electronic
  current holds at 73-75 % of V/R_s (collector -0.09 V).
* 10 MPa, partial: the same, at 66-71 % of V/R_s (collector -0.12 V); that dendrite is
  broken into segments joined by diffuse Li.
* Under load Li fills the small pore further (71 / 77 % of its area at 5 / 10 MPa, 11.6 / 15.9
  um^2 in its core) and lines the inside of the lower pore's wall (a crescent; at 0 MPa the front
  only touches that pore). Li in pores at the end 32 / 56 / 69 um^2; after the short the Li keeps
  moving from the stressed SE into the stress-free pores. Li within 2 um outside a pore wall 42 /
  21 / 28 um^2 (10 / 8 / 11 % of the grown Li).
* Dead Li (xi > 1/2 cores parted from the anode by diffuse Li) from 18 / 14 / 12 s, largest 168 /
  115 / 74 um^2; never isolated from the anode's electrons. No cluster of xi > 1/2 joins the
  electrodes (``li_bridge_time_s`` None): the bridges are diffuse Li.
* Peak / final mean pressure in the grown Li 2.7 / 1.2, 6.7 / 4.1, 11.0 / 6.9 MPa.
* Which short kind a loaded cell gets depends on the pore layout at this cell size: with seed 3
  (below) both loaded cells shorted soft; with seed 18 their bridges hold.
* Seed 23, the next typical layout (exploration at 0 and 10 MPa, stopped at 115 / 78.5 s): the
  same picture. At 0 MPa a front fills the pore it meets and shorts hard at 87.4 s (85-92 % of
  V/R_s); at 10 MPa dendrites reach two pores and line their walls (Li within 2 um outside pore
  walls 77 um^2, 19 % of the grown Li; in pores 113 um^2), and the leakage rises to 83 % of V/R_s
  over ~3 s from the short at 68.9 s, then holds at 62-83 % (no opening by 78.5 s).

Pore-layout ensemble (seeds 18, 33, 70 at 0 / 5 / 10 MPa, 1 rank per case, 26-53 min each;
results/dendrite_pressure/fingers-seeds-sweep and fingers-seeds5-sweep; :func:`ensemble`):
* 0 MPa shorts hard in every layout (first short 57.3 / 82.3 / 62.1 s; 89-91 % of V/R_s for 30 s).
* Of seeds 18, 33 and 70 no loaded cell shorts hard: 4 of 6 partial (67-78 % of V/R_s), 2 soft (seed 33 at 5 and 10
  MPa: the bridge holds at 72 / 63 % for 26 / 17 s, then dissolves; at 10 MPa it falls to 13 %,
  the cell plates again and reconnects at 59 % within 13 s).
* Li in pores, as a share of the Li grown, 8-9 % / 22-35 % / 27-41 % (0 / 5 / 10 MPa), rising with
  the load in every layout; within 2 um outside pore walls 9-10 % unloaded, 8-15 % under load.
* The first short comes sooner under load in every layout (43-54 s at 5 and 10 MPa), and every
  short starts with a jump to more than half of V/R_s within ~1 s.
* Peak pressure in the grown Li 2.7-2.9 / 6.7-10.0 / 11.0-15.3 MPa.
* Seed 23 at 5 and 10 MPa (added 2026-11-22, results/dendrite_pressure/fingers-seed23-sweep; 0 MPa:
  the exploration above). 10 MPa: partial, short at 68.9 s; the leakage passes 82 % of V/R_s, the
  Li strips, and it settles at 54-74 % (collector -0.112 V against eta* = -0.113 V). 5 MPa: hard,
  short at 69.3 s, the only loaded hard short: the first bridge holds at ~60 % for 13 s, then a
  second lifts the leakage to 91 %, and the Li is still stripping towards the stall law's 74 %
  (collector -0.046 V against eta* = -0.091 V) when the 30 s end. Li in pores 28 / 36 %, within
  2 um outside pore walls 15 / 15 %; peak pressure in the Li 8.8 / 14.3 MPa. The first short again
  comes sooner under load (87.4 s unloaded).

Stall law (:func:`stall_law`, 2026-11-22; verified on a loaded planar front in
tests/test_phase_field.py): the elastic driving force enters the Allen-Cahn equation as
L_sigma w h'(xi) with w = -eps0 tr(sigma), so Li stands still at eta* = -2 (RT/F) asinh(L_sigma w /
(2 L_eta)) (alpha = 1/2): -0.04 V at the ~1 MPa of self-stress of the unloaded Li, -0.09 V at 4 MPa,
-0.12 V at 7 MPa (eps0 = 1e-2, L_eta = 0.054 1/s). After a short the bridge carries the current,
the Li+ potential relaxes towards the counter electrode's, and every Li surface sees the collector
potential phi_a as its overpotential. Li grows while phi_a < eta*(p_Li) and strips above it, so
the bridge thickens or thins until phi_a = eta*, i.e. the short settles at (eta* - V)/R_s. In the
ensemble the collector ends at -39 / -36 / -38 mV (0 MPa; eta* of the Li's final mean pressure
-38 / -41 / -37 mV), -91 / -82 mV (5 MPa, partial; -91 / -90) and -118 / -106 mV (10 MPa, partial;
-117 / -114): the predicted level is 88-89 / 74 / 67 % of V/R_s against 89-91 / 74-78 / 67-73 %
measured. The soft bridges held near it (72 % against 75 % at 5 MPa, 63 % against 68 % at 10 MPa)
before they dissolved. So the load sets how far a short rises (partial rather than hard) but not
whether it jumps: before the short the SE (R_SE ~ 3 ohm cm^2 here) limits the current, after it
R_s does, and every short jumps by ~R_SE/R_s (~30) whatever the pressure. The same holds after
the short with seed 3 (below), where "plating stops" means phi_a has reached eta*.

Counter-electrode contact resistance (``counter_contact_resistance`` = 0.1 ohm cm^2, exploration
2026-11-22, seed 18 at 0 and 10 MPa, 40 s followed; results/dendrite_pressure/fingers-contact-sweep):
first shorts at 56.4 / 44.0 s (ideal contact 57.3 / 43.4 s), both through one finger. As the tip
closes in the ionic counter current triples (1.1e3 -> 3.6e3 and 1.2e3 -> 3.3e3 A/m^2 over ~10 s);
contact then adds ~3x within 0.3 s (1.1e4 / 1.0e4 A/m^2). The collector stays below eta* (-0.174 V
against -0.041 / -0.121 V), so Li keeps plating and spreads over the whole counter face, which then
passes V/(R_s + r_c): 49.7 % of V/R_s at both pressures. The contact sets the level and the load
does not matter; the jump stays.

Why ``conduction_threshold`` collapses the step (measured with the SNES monitor, 10 MPa): where
the Li phase carries no electrons (xi < c) xi can change only if the reaction balances the
Allen-Cahn relaxation locally, L_eta h'(xi) B(eta) = -L_sigma [g'(xi) - kappa lap(xi) + ...]; h'/g'
vanishes as xi -> 0, so eta must diverge in the tail. Newton's full steps overflow the
Butler-Volmer exponentials (NaN down to a step of 1/16), it needs 25 iterations for a 0.05 s step,
and the step falls to ~4 ms within 0.7 s. A cut-off of the tail's conduction cannot work while
every change of xi is a redox reaction that needs electrons on the spot.

With seed 3 (the layout until 2026-11-22; the sweep, 1 rank per case, 10 / 12 / 26 min at 0 / 5 /
10 MPa; 33.8k dofs; results/dendrite_pressure/fingers-seed3-sweep; everything below in this
section is seed 3):
* First short (the Li phase carries > 1/2 of the counter current) at 60.1 / 42.8 / 44.7 s (0 / 5 /
  10 MPa). Plating at 25 s 856 / 777 / 705 A/m^2: pressure slows the bulk of the growth.
* After the short the metal floats towards the counter potential until its overpotential is the
  stall overpotential of its stress (the stall law above); where the local stress is higher the
  Li dissolves slowly (stripping up to 85 / 45 / 190 A/m^2).
* 0 MPa, hard: the electronic current reaches 90 % of V/R_s within 1.6 s and holds at 89.5-90.7 %
  for the 30 s (collector at -33 to -37 mV). The protrusions merge into a rough front whose edge
  runs along the top face to the counter electrode before the front reaches a pore: no Li in the
  pores (with seed 18 it meets one and fills it).
* 5 MPa, soft: 72 % of V/R_s for ~20 s (collector -0.10 V) while the thin bridge dissolves, then
  it falls to 21 % at 70.5 s (one opening) and rises again (38 % at the end).
* 10 MPa, soft: 63 % of V/R_s at first, then it fluctuates: 27 % at 53 s, 58 % at 59 s, 34 % at
  69 s, and the short opens at 71 s (8.3 um^2 of Li isolated from the anode's electrons) and falls
  to 1 % of V/R_s by the end (two openings): the cell plates again (1.3e3 A/m^2).
* Under load the protrusions stall as stubs and one thin dendrite runs along the top face and
  across; a second grows into the first pore and along the inside of its wall (a crescent), at
  10 MPa also into the large pore. Li in pores at the end 0 / 37 / 59 um^2; Li within 2 um outside
  a pore wall 0.04 / 28 / 44 um^2, i.e. 0 / 9.9 / 14.5 % of the Li grown (395 / 279 / 301 um^2).
* Dead Li (xi > 1/2 cores parted from the anode) from 22 / 15 / 14 s, largest 1.8 / 104 / 145
  um^2; isolated (no electron path) only at the 10 MPa opening. No cluster of xi > 1/2 ever joins
  the electrodes at any pressure (``li_bridge_time_s`` None): the bridges are diffuse Li.
* Peak / final mean pressure in the grown Li 2.8 / 1.3, 9.0 / 4.3, 15.1 / 7.2 MPa.
* With pores at 1e-3 of the SE's conduction (session 8, results/dendrite_pressure/fingers-pt1e-3-
  sweep): shorts at 83.3 / 42.1 / 46.7 s, hard / partial (68-82 % of V/R_s) / soft (68 %, one
  opening with 22 um^2 isolated); Li in pores 11 / 5 / 11 um^2, coating the SE side of the first
  pore's wall at 5 and 10 MPa alike; Li grown 565 / 242 / 262 um^2.
* Cahn-Hilliard pores (``pore_evolution = "cahn_hilliard"``, ``pore_mobility`` = 1e-20 m^5/(J s),
  assumed; exploration at 0 and 10 MPa): shorts at 61.6 / 45.7 s, hard / soft (one opening), as
  with static pores (60.1 / 44.7 s). The SE volume drifts by 3e-14; the pore area (rho < 1/2)
  shrinks from 338 to 317 um^2 as the built pores relax to the tanh profile; Li in pores 0 / 84
  um^2 (59 with static pores). 10 / 18 min per case (static pores: 10 / 26 min; the step
  histories differ).
* L_eta 10x Chen's (0.0181 1/s) instead of 30x (exploration): shorts at 77.5 / 58.2 / 68.1 s,
  partial / soft / soft (one opening each), Li in pores 0 / 45 / 74 um^2, Li grown 412 / 266 / 295
  um^2. Slower charge transfer delays every short, but the loaded cells still short first.
* Pressure holds the bulk of the growth back but focuses what is left on one dendrite, which
  reaches the counter electrode sooner. The work 3 eps0 p is a uniform penalty: it stalls the slow
  parts of the front (|eta| below ~135 mV at 10 MPa with eps0 = 1e-2) and leaves the current to the tips.
* With an ideal collector (session 7, results/dendrite_pressure/fingers-ideal-sweep): every short is
  a hard jump (3.9x / 3.4x / 6.4x in one step), and the run cannot go past it (below).
* eps0 = 4e-3 (r = 0.95) in the same regime: every pressure grows four dendrites; short at 75.9 /
  49.5 / 45.0 s; Li grown by then 567 / 364 / 322 um^2; peak Li pressure 2.9 / 7.9 / 12.6 MPa; dead Li
  specks only (results/dendrite_pressure/fingers-eps4e-3-sweep).
* ``conduction_exponent`` n = 2 (5 and 10 MPa), meant to keep a diffuse neck from conducting: the
  dendrites grow as diffuse clouds (xi < 1/2 over several um, the electrons reach them poorly), no
  isolated Li by 37 / 41 s (stopped there).
* Running on past the short with an ideal collector (10 MPa, ``steps_after_short`` = 400): the
  step falls to ~1 ms within 0.3 s of the short (stopped at 37.0 s): nothing bounds the current
  through the bridge. The series resistance (below) is what lets the run go on.
* ``conduction_threshold`` c = 0.2 (the Li phase conducts only where xi > 0.2, so the tanh tail
  and sub-interface necks carry no electrons; verified on a strip): on the tiny cell a forced
  short runs, but the full fingers cell crawls (30 rejected steps and dt ~0.04 s within the first
  second at 10 MPa; stopped; re-run 2026-11-22: dt 3-37 ms over the first 0.7 s). Why: see "Why
  ``conduction_threshold`` collapses the step" above.

Reproduced in the fingering regime (across the ensemble of seeds 18, 23, 33, 70 unless stated):
at 0 MPa Li penetrates with a hard short that holds (seed 18: after filling the pore it meets and
branching); under load the shorts are hard only once in eight (seed 23 at 5 MPa; the rest
partial, or soft: seed 33 at 5 and 10 MPa, and seed 3) and Li fills and lines pores, more with
more load; dead Li (segments parted by diffuse Li) under load and at 0 MPa; pressure holds the
bulk of the growth back; the pressure in the Li peaks in the dendrites and rises with the load.
Not reproduced: growth along pore walls as a 5 MPa
regime of its own; the first short coming later under load (the planar default shorts later, 348
/ 491 / 609 s; the fingering regime sooner); a 10 MPa leakage that does not jump at the first
contact (every short jumps to more than half of V/R_s within ~1 s: by the stall law the jump is
~R_SE/R_s at any load, and a contact resistance at the counter electrode does not remove it); a
metallic (xi > 1/2) bridge. Explained: where a short settles (the stall law, (eta*(p_Li) - V)/R_s,
within a few % of V/R_s for every hard and partial short).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import default_scalar_type, fem, la
from dolfinx.mesh import compute_midpoints
from ssbx.fem import kinematics
from ssbx.fem.boundary import FixedComponent, NormalPressure
from ssbx.fem.elasticity import cellwise
from ssbx.fem.io import FieldWriter, ResultDir, TimeSeries, checkpoint_meta, write_csv_atomic, write_npz_atomic
from ssbx.fem.phase_field import (
    CHECKPOINT_PREFIX,
    LENGTH_SCALE,
    PhaseFieldDendrite,
    PhaseFieldParameters,
    interpolation,
)
from ssbx.fem.pore_evolution import PoreEvolutionParameters
from ssbx.fem.timestepping import SolveDivergedError, StepControl
from ssbx.geometries.porous import PorousSE, build_porous_se
from ssbx.studies.config import choice, quantities, quantity

from ssbx.log import get_logger

DESCRIPTION = "Phase-field Li dendrites in a porous SE under 0-10 MPa: hard vs soft short, dead Li, pressure"
log = get_logger(__name__)
UM = 1e-6


@dataclass(frozen=True)
class Config:
    # geometry (x through the cell: Li anode, then the porous SE)
    li_thickness: float = quantity(8e-6, "length", doc="Li anode layer (full case: 200 um)")
    se_thickness: float = quantity(52e-6, "length", doc="porous SE (full case: 800 um)")
    height: float = quantity(40e-6, "length", doc="cell height (full case: 500 um)")
    porosity: float = quantity(0.1625, "dimensionless", "fraction", doc="DESIGN.md section 1")
    mean_pore_diameter: float = quantity(10e-6, "length", doc="DESIGN.md section 1")
    diameter_spread: float = quantity(0.3, "dimensionless", "nonnegative", doc="lognormal sigma (assumed)")
    seed: int = 18  # pore placement: typical_seed of the default cell
    mesh_size: float = quantity(0.4e-6, "length", doc="element size near pores, 2x elsewhere")
    protrusions: int = 4
    protrusion_radius: float = quantity(3e-6, "length", doc="half-width of each protrusion")
    protrusion_length: float = quantity(5e-6, "length", doc="how far each protrusion reaches into the SE")
    protrusion_margin: float = quantity(0.0, "length", "nonnegative",
                                        doc="centre of the outer protrusions from the faces; 0: height/(2 n)")
    # electrochemistry and mechanics
    voltage: float = quantity(-0.35, "voltage", None, doc="anode vs counter electrode (DESIGN.md)")
    external_pressure: float = quantity(0.0, "pressure", "nonnegative", doc="on the SE face (counter side)")
    series_resistance: float = quantity(0.0, "area_specific_resistance", "nonnegative",
                                        doc="between the source and the anode collector (leads, contacts; "
                                            "0: ideal, the anode at the applied voltage)")
    counter_contact_resistance: float = quantity(0.0, "area_specific_resistance", "nonnegative",
                                                 doc="electrons pass from Li into the counter electrode "
                                                     "through it, where Li touches the facet (0: ideal, "
                                                     "phi_e = 0 on the whole facet; single ion only)")
    lateral_faces: str = choice("roller", ("roller", "free"),
                                doc="top face: u_y = 0 like the bottom (a slice of a wide cell) or traction-free")
    interface_width: float = quantity(1.5e-6, "length",
                                      doc="delta = sqrt(2 kappa/W); Chen 2015: 0.75 um (kappa scaled, W kept)")
    electrolyte: str = choice("single_ion", ("single_ion", "nernst_planck"),
                              doc="Li+ transport: single-ion conductor with separate electron/ion potentials, "
                                  "or Chen 2015's Nernst-Planck with one potential")
    consistent_transport: bool = True  # D_l = sigma_SE RT/(F^2 c0) instead of DESIGN's 3.2e-10 m^2/s
    deposition_strain: float = quantity(1e-2, "dimensionless", "nonnegative", doc="eps0 (assumed)")
    misfit_relaxation: float = quantity(0.98, "dimensionless", "nonnegative",
                                        doc="fraction of eps0 relaxed by Li creep (no self-stress; assumed)")
    interface_mobility: float = quantity(PhaseFieldParameters.interface_mobility, "dimensionless",
                                         doc="L_sigma (m^3/(J s)), Chen 2015")
    reaction_constant: float = quantity(PhaseFieldParameters.reaction_constant, "dimensionless",
                                        doc="L_eta (1/s), Chen 2015")
    pore_fraction: float = quantity(1e-3, "dimensionless", "unit_interval",
                                    doc="pore stiffness as a fraction of the SE (assumed)")
    pore_transport_fraction: float = quantity(1e-3, "dimensionless", "unit_interval",
                                              doc="pore Li+ conductivity/diffusivity as a fraction of the SE (assumed)")
    pore_evolution: str = choice("static", ("static", "cahn_hilliard"),
                                 doc="pores fixed, or rho evolving by Cahn-Hilliard (conserving the SE volume)")
    pore_mobility: float = quantity(0.0, "cahn_hilliard_mobility", "nonnegative",
                                    doc="M of the pore field (m^5/(J s); assumed: no measured value)")
    conduction_exponent: float = quantity(1.0, "dimensionless", doc="sigma_e uses h(xi)**n (1: Chen 2015)")
    conduction_threshold: float = quantity(0.0, "dimensionless", "nonnegative",
                                           doc="xi below which the Li phase conducts nothing (0: Chen 2015)")
    curvature_fraction: float = quantity(PhaseFieldParameters.curvature_fraction, "dimensionless",
                                         "closed_unit_interval",
                                         doc="share of the Allen-Cahn curvature flow kept (1: Chen 2015)")
    li_youngs_modulus: float = quantity(PhaseFieldParameters.li_youngs_modulus, "pressure",
                                        doc="Li Young's modulus (default: the elastic value, Masias 2019)")
    # time
    t_end: float = quantity(1000.0, "time", doc="0 and 5 MPa short within it, 10 MPa not (full case: 500 s, DESIGN.md)")
    dt0: float = quantity(0.05, "time")
    dt_max: float = quantity(2.0, "time")
    max_xi_change: float = 0.5
    snapshot_times: tuple = quantities((200.0, 400.0, 600.0, 800.0), "time", doc="field output and figure panels")
    checkpoint_interval: float = quantity(100.0, "time", "nonnegative",
                                          doc="a checkpoint each time t passes a multiple of it, and one at "
                                              "the end (0: only when a solve fails)")
    restart_from: str = field(default="", metadata={
        "doc": "continue from a checkpoint (.npz) of this study, or 'latest': the newest checkpoint "
               "of this case's interrupted, failed or complete earlier run (none: start at t = 0)"})
    steps_after_short: int = 3  # keep going this many steps after a short is detected, then stop ...
    # ... and this long (0: stop after the steps): whether the short holds (hard) or opens again (soft)
    time_after_short: float = quantity(0.0, "time", "nonnegative")
    # electronic short: electrons crossing the whole SE carry more than this fraction of the counter current
    short_electronic_fraction: float = quantity(0.5, "dimensionless", "unit_interval")
    li_threshold: float = 0.5  # xi above which a cell counts as Li (clusters, dead Li, short)
    pore_wall_band: float = quantity(2e-6, "length", doc="Li within this distance outside a pore counts as "
                                                          "growing along its wall; deeper inside one, as filling it")
    figure: bool = True

    def __post_init__(self):
        if self.protrusions < 0:
            raise ValueError(f"protrusions must be >= 0, got {self.protrusions}")
        if not 0 < self.li_threshold < 1:
            raise ValueError(f"li_threshold must lie in (0, 1), got {self.li_threshold}")
        if self.steps_after_short < 0:
            raise ValueError(f"steps_after_short must be >= 0, got {self.steps_after_short}")
        if self.dt0 > self.dt_max:
            raise ValueError(f"dt0 ({self.dt0}) must not exceed dt_max ({self.dt_max})")
        if self.mesh_size > self.interface_width:
            raise ValueError(f"mesh_size ({self.mesh_size}) must not exceed interface_width "
                             f"({self.interface_width}): the diffuse interface would not be resolved")
        if self.protrusions and 2 * self.protrusion_radius * self.protrusions > self.height:
            raise ValueError("protrusion_radius: the protrusions do not fit side by side in the height")
        if 2 * self.protrusion_margin >= self.height:
            raise ValueError(f"protrusion_margin ({self.protrusion_margin}) must be below half the height")
        if any(t > self.t_end for t in self.snapshot_times):
            raise ValueError(f"snapshot_times must not exceed t_end ({self.t_end} s)")
        if self.restart_from not in ("", "latest") and not Path(self.restart_from).is_file():
            raise ValueError(f"restart_from: no checkpoint file {self.restart_from!r}")
        self.parameters()  # the phase-field parameters' own checks, before any mesh
        if self.counter_contact_resistance > 0 and self.electrolyte != "single_ion":
            raise ValueError("counter_contact_resistance needs electrolyte = 'single_ion' (two potentials)")
        if self.pore_evolution == "cahn_hilliard" and not self.pore_mobility > 0:
            raise ValueError("pore_mobility must be positive with pore_evolution = 'cahn_hilliard'")

    def parameters(self) -> PhaseFieldParameters:
        """Chen 2015 parameters with this study's interface width, eps0, pore fraction, transport."""
        base = PhaseFieldParameters()
        kappa = base.barrier_height * self.interface_width**2 / 2
        p = dataclasses.replace(base, gradient_coefficient=kappa, deposition_strain=self.deposition_strain,
                                pore_fraction=self.pore_fraction, interface_mobility=self.interface_mobility,
                                pore_transport_fraction=self.pore_transport_fraction,
                                li_youngs_modulus=self.li_youngs_modulus, misfit_relaxation=self.misfit_relaxation,
                                conduction_exponent=self.conduction_exponent,
                                conduction_threshold=self.conduction_threshold,
                                curvature_fraction=self.curvature_fraction,
                                reaction_constant=self.reaction_constant)
        return p.with_consistent_transport() if self.consistent_transport else p

    @property
    def full_short_current(self) -> float | None:
        """|V|/R_s (A/m^2): the current of a full short behind the series resistance (None: an ideal
        collector, nothing bounds it)."""
        return abs(self.voltage) / self.series_resistance if self.series_resistance > 0 else None

    def pore_parameters(self) -> PoreEvolutionParameters | None:
        """Cahn-Hilliard parameters of the pore field (None: static pores), with the Li phase
        field's W and kappa: pore and Li interfaces share their width."""
        if self.pore_evolution == "static":
            return None
        p = self.parameters()
        return PoreEvolutionParameters(mobility=self.pore_mobility, barrier_height=p.barrier_height,
                                       gradient_coefficient=p.gradient_coefficient)

    def porous(self) -> PorousSE:
        return PorousSE(width=self.se_thickness, height=self.height, porosity=self.porosity,
                        mean_pore_diameter=self.mean_pore_diameter, diameter_spread=self.diameter_spread,
                        seed=self.seed, li_thickness=self.li_thickness)


# -- the cell ----------------------------------------------------------------------------------
def protrusion_centres(cfg: Config) -> np.ndarray:
    """y of the protrusions: evenly spaced, the outer ones ``protrusion_margin`` from the faces
    (default height/(2n): equal spacing including the faces)."""
    n = cfg.protrusions
    margin = cfg.protrusion_margin or cfg.height / (2 * max(n, 1))
    if n == 1:
        return np.array([cfg.height / 2])
    return np.linspace(margin, cfg.height - margin, n)


def typical_seeds(cfg: Config, seeds=range(200)) -> list[int]:
    """The seeds whose pore layout is typical of the ensemble over ``seeds``, in order, so that the
    pores a front meets are not a rare draw: as many pores as the median, the largest pore no
    larger than the median largest, the nearest pore edge within one mean pore radius of the
    median distance from the anode, and no pore within one interface width of a protrusion (the
    initial Li and a pore would touch)."""
    stats = []
    for seed in seeds:
        centres, radii = dataclasses.replace(cfg.porous(), seed=seed).pores(2)
        to_protrusion = float(np.min(protrusion_distance(cfg, centres[:, 0], centres[:, 1]) - radii))
        stats.append((seed, len(radii), 2 * radii.max(), float(np.min(centres[:, 0] - radii)), to_protrusion))
    count, largest, nearest = (float(np.median([row[k] for row in stats])) for k in (1, 2, 3))
    return [seed for seed, n, d, x, gap in stats
            if n == count and d <= largest and abs(x - nearest) <= 0.5 * cfg.mean_pore_diameter
            and gap >= cfg.interface_width]


def typical_seed(cfg: Config, seeds=range(200)) -> int:
    """The first of :func:`typical_seeds`: the shipped cells' pore layout."""
    typical = typical_seeds(cfg, seeds)
    if not typical:
        raise ValueError(f"no typical pore layout among seeds {seeds}")
    return typical[0]


def protrusion_distance(cfg: Config, x, y):
    """Signed distance from (x, y) to the nearest protrusion (negative inside; +inf without any):
    each a capsule from (li_thickness - r, yc) to (li_thickness + protrusion_length - r, yc) of
    radius r, i.e. a rectangle of half-width r capped by a semicircle."""
    r = cfg.protrusion_radius
    a, b = cfg.li_thickness - r, cfg.li_thickness + max(cfg.protrusion_length - r, 0.0)
    level = np.full(np.broadcast(x, y).shape, np.inf)
    for yc in protrusion_centres(cfg):
        level = np.minimum(level, np.hypot(x - np.clip(x, a, b), y - yc) - r)
    return level


def initial_xi(cfg: Config, width: float):
    """xi0(x): the Li layer x < li_thickness plus ``protrusions`` rounded fingers (a rectangle of
    half-width r capped by a semicircle, tip at li_thickness + protrusion_length), with the
    equilibrium tanh profile of width ``width`` across the signed distance."""
    def xi0(x):
        # signed distance to the Li surface (negative in Li): the flat anode or a protrusion
        level = np.minimum(x[0] - cfg.li_thickness, protrusion_distance(cfg, x[0], x[1]))
        return 0.5 * (1 - np.tanh(level / width))

    return xi0


@dataclass
class Cell:
    tm: object
    pf: PhaseFieldDendrite
    pressure: fem.Constant


def build_cell(cfg: Config, comm: MPI.Comm, prefix: str = "dendrite_pressure_") -> Cell:
    """Mesh, initial state and the phase-field problem of one case."""
    tm = build_porous_se(comm, cfg.porous(), mesh_size=cfg.mesh_size)
    params = cfg.parameters()
    xi0 = initial_xi(cfg, params.interface_width)
    rho = cellwise(tm, {"pore": 0.0}, "solid", default=1.0)
    pressure = fem.Constant(tm.mesh, default_scalar_type(cfg.external_pressure))
    x = ufl.SpatialCoordinate(tm.mesh)
    length = cfg.li_thickness + cfg.se_thickness
    lateral = ("li_bottom", "se_bottom") + (("li_top", "se_top") if cfg.lateral_faces == "roller" else ())
    # a first Newton guess only: the anode voltage in the Li, linear across the SE
    clip = ufl.max_value if cfg.voltage < 0 else ufl.min_value
    phi0 = clip(cfg.voltage * (length - x[0]) / cfg.se_thickness, cfg.voltage)
    pf = PhaseFieldDendrite(
        tm, params, anode=("li_left",), counter=("se_right",), voltage=cfg.voltage,
        initial_xi=xi0, initial_potential=phi0, solid_fraction=rho, mechanics=True, stress_free_xi=xi0,
        fixed_displacements=[FixedComponent(("li_left",), 0), FixedComponent(lateral, 1)],
        pressures=[NormalPressure(("se_right",), pressure)], max_xi_change=cfg.max_xi_change, prefix=prefix,
        electrolyte=cfg.electrolyte, series_resistance=cfg.series_resistance, pore_evolution=cfg.pore_parameters(),
        counter_contact_resistance=cfg.counter_contact_resistance)
    return Cell(tm, pf, pressure)


#: slabs across the SE in which the electron current is averaged (Diagnostics.through_current)
THROUGH_SLABS = 8


class Diagnostics:
    """Cell-wise (DG0) views of the state and the allreduced numbers the study reports: the Li
    that grew beyond the initial anode surface (x > li_thickness), its hydrostatic pressure, Li in
    pores, clusters."""

    def __init__(self, cfg: Config, cell: Cell):
        self.cfg, self.cell = cfg, cell
        pf, tm = cell.pf, cell.tm
        msh = tm.mesh
        self.comm = tm.comm
        V0 = fem.functionspace(msh, ("DG", 0))
        n = msh.topology.index_map(msh.topology.dim).size_local
        self.n = n
        self.mid = compute_midpoints(msh, msh.topology.dim, np.arange(n, dtype=np.int32))[:, :2]
        self.vol = fem.assemble_vector(fem.form(ufl.TestFunction(V0) * ufl.dx)).array[:n].copy()
        xi = ufl.split(pf.w)[0]
        u = LENGTH_SCALE * ufl.split(pf.w)[3]  # the state holds u/l0
        self.f = {name: fem.Function(V0, name=name) for name in ("xi_cell", "h_cell", "pressure_cell",
                                                                 "volumetric_strain", "solid")}
        pts = V0.element.interpolation_points
        self.expr = {"xi_cell": fem.Expression(xi, pts), "h_cell": fem.Expression(interpolation(xi), pts),
                     "pressure_cell": fem.Expression(pf.hydrostatic_pressure(), pts),
                     "volumetric_strain": fem.Expression(ufl.tr(kinematics.strain(u, tm.kind, msh)), pts),
                     "solid": fem.Expression(ufl.as_ufl(pf.solid_fraction), pts)}  # 1 SE, 0 pore
        # the electron current through slabs across the SE, as int -j . grad(w_k) over P1 ramps w_k
        # (0 before slab k, 1 after it): for w_k in the discrete space this is the counter
        # electrode's electronic current less the reactions beyond the ramp, exactly, where a
        # cell-wise average of -j_x would carry the flux error of the P1 potential (~10 % here)
        V1 = fem.functionspace(msh, ("Lagrange", 1))
        self.electron_flux = fem.form(ufl.inner(-pf.electronic_current_density(), ufl.grad(ufl.TestFunction(V1)))
                                      * ufl.dx(metadata={"quadrature_degree": 4}))
        self.n1 = V1.dofmap.index_map.size_local
        x1 = V1.tabulate_dof_coordinates()[: self.n1, 0]
        edges = cfg.li_thickness + cfg.se_thickness * np.arange(THROUGH_SLABS + 1) / THROUGH_SLABS
        self.ramps = np.clip((x1[None, :] - edges[:-1, None]) / np.diff(edges)[:, None], 0.0, 1.0)
        self.beyond = self.mid[:, 0] > cfg.li_thickness + 0.5 * cfg.interface_width
        # the pores as built: a cell midpoint's distance to the nearest pore wall (negative inside)
        centres, radii = cfg.porous().pores(2)
        gap = np.hypot(self.mid[:, None, 0] - centres[None, :, 0], self.mid[:, None, 1] - centres[None, :, 1]) \
            - radii[None, :] if len(radii) else np.full((n, 1), np.inf)
        nearest = np.min(gap, axis=1)
        # along a pore wall: outside every pore and within pore_wall_band of one
        self.wall_band = self.beyond & (nearest > 0) & (nearest < cfg.pore_wall_band)
        # filling a pore, not lining it: deeper inside a pore than pore_wall_band
        self.pore_core = nearest < -cfg.pore_wall_band
        self.pore_of = np.where(nearest < 0, np.argmin(gap, axis=1), -1) if len(radii) else np.full(n, -1)
        self.n_pores = len(radii)
        self.pore_area = self.comm.allreduce(self._per_pore(self.vol), op=MPI.SUM)

    def _per_pore(self, v: np.ndarray) -> np.ndarray:
        """Rank-local sums of v over the cells of each pore (as built)."""
        inside = self.pore_of >= 0
        return np.bincount(self.pore_of[inside], weights=v[inside], minlength=self.n_pores)

    def update(self) -> dict[str, np.ndarray]:
        for k, f in self.f.items():
            f.interpolate(self.expr[k])
        return {k: f.x.array[: self.n] for k, f in self.f.items()}

    def _sum(self, v) -> float:
        return self.comm.allreduce(float(np.sum(v)), op=MPI.SUM)

    def _max(self, v) -> float:
        return self.comm.allreduce(float(np.max(v, initial=-np.inf)), op=MPI.MAX)

    def measure(self) -> dict:
        a = self.update()
        rho = a["solid"]
        li = a["xi_cell"] > self.cfg.li_threshold
        grown = li & self.beyond
        w = a["h_cell"] * self.vol * self.beyond
        weight = self._sum(w)
        mean_p = self._sum(w * a["pressure_cell"]) / weight if weight > 0 else float("nan")
        peak = self._max(a["pressure_cell"][grown]) if self._sum(grown) > 0 else float("nan")
        se = li & (rho > 0.5)
        return {
            "li_grown_volume": weight,  # int h over x > Li surface (m^2 per m depth)
            "li_in_pores_volume": self._sum(a["h_cell"] * self.vol * (rho < 0.5)),
            "li_along_pore_walls_volume": self._sum(a["h_cell"] * self.vol * self.wall_band),
            "li_in_pore_cores_volume": self._sum(a["h_cell"] * self.vol * self.pore_core),
            # the fullest pore: its Li / its area (1: filled)
            "pore_fill_max": float(np.max(self.comm.allreduce(self._per_pore(a["h_cell"] * self.vol), op=MPI.SUM)
                                          / np.maximum(self.pore_area, 1e-300), initial=0.0)),
            "pressure_li_mean": mean_p,
            "pressure_li_peak": peak,
            "pressure_se_mean": self._sum(self.vol * (~li) * (rho > 0.5) * a["pressure_cell"])
            / max(self._sum(self.vol * (~li) * (rho > 0.5)), 1e-300),
            "li_front": self._max(self.mid[li, 0]) if self._sum(li) > 0 else float("nan"),
            "li_in_se_cells": int(self.comm.allreduce(int(np.count_nonzero(se & self.beyond)), op=MPI.SUM)),
            "pore_area": self._sum(self.vol * (rho < 0.5)),
            "electronic_through_current_density": self.through_current(),
        }

    def through_current(self) -> float:
        """The electron current that crosses the whole SE towards the anode (A/m^2 of the counter
        face): the smallest over ``THROUGH_SLABS`` slabs of the mean current through the planes in
        the slab. A Li path from the anode to the counter electrode carries its current through
        every slab; Li that touches only the counter electrode (stripping there, its electrons
        leaving into it) leaves a slab between it and the anode with the SE's own leakage alone."""
        b = fem.assemble_vector(self.electron_flux)
        b.scatter_reverse(la.InsertMode.add)
        per_slab = self.comm.allreduce(self.ramps @ b.array[: self.n1], op=MPI.SUM)
        return float(np.min(per_slab)) / self.cfg.height

    def gather(self) -> dict[str, np.ndarray] | None:
        """Cell midpoints and DG0 fields on rank 0 (None elsewhere), for figures."""
        a = self.update()
        local = np.column_stack([self.mid, a["xi_cell"], a["pressure_cell"], a["volumetric_strain"], a["solid"]])
        parts = self.comm.gather(local, root=0)
        if self.comm.rank != 0:
            return None
        allv = np.concatenate(parts)
        allv = allv[np.lexsort((allv[:, 1], allv[:, 0]))]  # partition-independent order
        return {"x": allv[:, 0], "y": allv[:, 1], "xi": allv[:, 2], "pressure": allv[:, 3],
                "volumetric_strain": allv[:, 4], "solid": allv[:, 5]}


# -- one case ----------------------------------------------------------------------------------
#: keys that change what is written, not what is computed (an ensemble may mix them)
OUTPUT_KEYS = ("figure", "checkpoint_interval", "restart_from")
#: keys that decide the mesh and the unknowns: a checkpoint restarts only a case that shares them
CELL_KEYS = ("li_thickness", "se_thickness", "height", "porosity", "mean_pore_diameter", "diameter_spread",
             "seed", "mesh_size", "electrolyte", "pore_evolution")


def snapshot_name(t: float) -> str:
    """A figure snapshot's file beside the checkpoints (rank 0's gathered cell fields)."""
    return f"snapshot_t{t:.6g}.npz"


def restart_checkpoint(cfg: Config, out: ResultDir | None) -> Path | None:
    """The checkpoint ``restart_from`` names (None: a fresh run); 'latest' is the newest checkpoint
    (by its time) of this case's earlier runs, see :meth:`ssbx.fem.io.ResultDir.earlier_runs`, or
    a fresh run if there is none (a resubmitted sweep whose job never reached this case)."""
    if not cfg.restart_from:
        return None
    if cfg.restart_from != "latest":
        return Path(cfg.restart_from)
    folders = out.earlier_runs() if out is not None else []
    found = [f for d in folders for f in (d / "checkpoints").glob(f"{CHECKPOINT_PREFIX}*.npz")]
    if not found:
        log.warning("restart_from = 'latest': no checkpoint in this case's earlier runs (%s); starting at t = 0",
                    ", ".join(str(d) for d in folders) or "none found")
        return None
    return max(found, key=lambda f: checkpoint_meta(f)["t"])


def checkpoint_state(cfg: Config, path: Path) -> dict:
    """The study's part of a checkpoint: history rows, short bookkeeping, snapshots written, the
    config it ran with. Refuses a checkpoint of another study or of another cell (``CELL_KEYS``)."""
    meta = checkpoint_meta(path)
    study = meta.get("dendrite_pressure")
    if study is None:
        raise ValueError(f"restart_from: {path} is not a dendrite_pressure checkpoint")
    ours = json.loads(json.dumps(dataclasses.asdict(cfg)))
    other = [k for k in CELL_KEYS if study["config"].get(k) != ours[k]]
    if other:
        raise ValueError(f"restart_from: {path} is of another cell ({', '.join(other)} differ)")
    missing = [snapshot_name(t) for t in study["written"] if not (path.parent / snapshot_name(t)).is_file()]
    if missing:
        raise ValueError(f"restart_from: the figure snapshots {', '.join(missing)} are not beside {path}")
    if meta["t"] >= cfg.t_end * (1 - 1e-12):
        raise ValueError(f"t_end ({cfg.t_end:g} s) must exceed the checkpoint's time ({meta['t']:g} s) "
                         f"to continue from {path}")
    study["changed"] = sorted(k for k in ours if k != "restart_from" and study["config"].get(k) != ours[k])
    study["t"], study["dt_next"] = meta["t"], meta.get("dt_next")
    return study


def simulate(cfg: Config, comm: MPI.Comm, out: ResultDir | None = None, prefix: str = "dendrite_pressure_"):
    """Run one pressure, from t = 0 or from the checkpoint ``restart_from`` names. Returns
    (results dict, history rows, snapshots on rank 0 (else {}))."""
    t_start = time.perf_counter()
    restart = restart_checkpoint(cfg, out)
    resumed = checkpoint_state(cfg, restart) if restart is not None else None
    cell = build_cell(cfg, comm, prefix)
    t_built = time.perf_counter()
    pf = cell.pf
    diag = Diagnostics(cfg, cell)
    series = TimeSeries(comm, out.file("history.csv")) if out is not None else None
    rows, snaps = [], {}
    state = {"short_t": None, "bridge_t": None, "electronic_t": None, "after": 0, "first_dead_t": None}
    pending = sorted(cfg.snapshot_times)
    writer, written = None, []
    checkpoints = out.file("checkpoints") if out is not None else None
    if out is not None:
        writer = FieldWriter(comm, out.file("fields"), [*pf.output_functions(), diag.f["volumetric_strain"],
                                                        diag.f["solid"]])

    conducting = pf.params.conducting_xi()

    def record(row: dict) -> None:
        con = pf.connectivity(cfg.li_threshold)
        # the same Li, clustered through the electron-conducting cells: islands of xi > li_threshold
        # joined by diffuse Li still take the anode's electrons
        wired = pf.connectivity(cfg.li_threshold, through=conducting)
        m = diag.measure()
        full = {**row, **m, "attached_volume": con.attached_volume, "dead_volume": con.dead_volume,
                "dead_clusters": con.dead_clusters, "clusters": con.clusters, "shorted": con.shorted,
                "isolated_volume": wired.dead_volume}
        full["leakage_current_density"] = row.get("leakage_current", 0.0) / cfg.height  # A/m^2
        full["electronic_current_density"] = row.get("electronic_current", 0.0) / cfg.height
        fraction = full["electronic_current_density"] / full["leakage_current_density"] \
            if full["leakage_current_density"] != 0 else 0.0
        full["electronic_fraction"] = fraction
        # the electrons must cross the whole SE: Li touching the counter electrode alone (a pinched-off
        # island stripping into it) carries the counter current electronically but shorts nothing
        through = full["electronic_through_current_density"]
        electronic = full["t"] > 0 and through > cfg.short_electronic_fraction * full["leakage_current_density"]
        full["electronic_short"] = electronic
        if con.shorted and state["bridge_t"] is None:
            state["bridge_t"] = full["t"]
            log.info("Li (xi > %g) bridges anode and counter electrode at t = %.4g s", cfg.li_threshold, full["t"])
        if electronic and state["electronic_t"] is None:
            state["electronic_t"] = full["t"]
            log.info("electronic short: %.3g A/m^2 of electrons cross the SE, of the %.3g A/m^2 at the counter "
                     "electrode, at t = %.4g s", through, full["leakage_current_density"], full["t"])
        if (con.shorted or electronic) and state["short_t"] is None:
            state["short_t"] = full["t"]
        if con.dead_volume > 0 and state["first_dead_t"] is None:
            state["first_dead_t"] = full["t"]
        if state["short_t"] is not None and full["t"] > state["short_t"]:
            state["after"] += 1
        rows.append(full)
        if series is not None:
            series.append(**full)
            if len(rows) % 10 == 0:
                series.flush()
        if pending and full["t"] >= pending[0] * (1 - 1e-9):  # one output for all times passed
            while pending and full["t"] >= pending[0] * (1 - 1e-9):
                pending.pop(0)
            snap(full["t"])

    def write_fields(t: float) -> None:
        if writer is not None:
            pf.output_functions()
            diag.update()
            writer.write(t)

    def snap(t: float) -> None:
        written.append(t)
        write_fields(t)
        g = diag.gather()
        if g is not None:
            snaps[t] = g
            if checkpoints is not None:  # once, for the checkpoints that follow (not in each of them)
                write_npz_atomic(checkpoints / snapshot_name(t), **g)

    def checkpoint_extra() -> dict:
        """What the study needs to go on from a checkpoint besides the fields: rows, bookkeeping,
        and the times of the figure snapshots saved beside it (the same on every rank)."""
        return {"dendrite_pressure": {"rows": rows, "state": state, "written": written,
                                      "config": dataclasses.asdict(cfg)}}

    dt_start = None
    if resumed is None:
        initial = {"t": 0.0, "dt": 0.0, "newton": 0, "plating_current": 0.0, "leakage_current": 0.0,
                   "electronic_current": 0.0,
                   "li_volume": pf.li_volume(), "plated_charge": 0.0, "counter_charge": 0.0}
        record(initial)
        snap(0.0)
    else:
        pf.restore(restart)
        t0, dt_start = resumed["t"], resumed["dt_next"]
        rows.extend(resumed["rows"])
        state.update(resumed["state"])
        written.extend(resumed["written"])
        # a snapshot lands on the first step past its time, at most a step (dt_max) later
        missed = [t for t in pending if t <= t0 * (1 + 1e-9)
                  and not any(t * (1 - 1e-9) <= w <= t + cfg.dt_max for w in written)]
        pending[:] = [t for t in pending if t > t0 * (1 + 1e-9)]
        if comm.rank == 0:
            for t in resumed["written"]:
                with np.load(restart.parent / snapshot_name(t)) as f:
                    snaps[t] = dict(f)
                if checkpoints is not None:
                    write_npz_atomic(checkpoints / snapshot_name(t), **snaps[t])
        if series is not None:
            for r in rows:
                series.append(**r)
            series.flush()
        write_fields(t0)  # the field output of a restarted run starts at the restart
        log.info("restarted from %s at t = %.6g s%s%s", restart, t0,
                 f"; changed since: {', '.join(resumed['changed'])}" if resumed["changed"] else "",
                 f"; snapshot times already passed, not written: {missed}" if missed else "")
    control = StepControl(dt0=cfg.dt0, dt_min=cfg.dt0 * 1e-4, dt_max=cfg.dt_max, grow=1.5, easy_iterations=5)
    ended = "t_end"
    if state["short_t"] is not None and cfg.steps_after_short == 0:
        ended = "short"
    else:
        try:
            pf.run(cfg.t_end, control, on_step=record,
                   stop=lambda: state["short_t"] is not None and state["after"] >= cfg.steps_after_short
                   and rows[-1]["t"] >= state["short_t"] + cfg.time_after_short,
                   checkpoint_dir=checkpoints,
                   checkpoint_every=cfg.checkpoint_interval, checkpoint_extra=checkpoint_extra, dt_start=dt_start)
            if state["short_t"] is not None:
                ended = "short"
        except SolveDivergedError as e:
            ended = "diverged"
            log.warning("dendrite_pressure: the solve stopped at t = %.4g s: %s", pf.t, e)
    if rows[-1]["t"] not in written:  # the final state is always written
        snap(rows[-1]["t"])
    if writer is not None:
        writer.close()
    if series is not None:
        series.flush()
    results = summarise(cfg, rows, state, ended)
    results["restarted_from"] = str(restart) if restart is not None else None
    results["restart_time_s"] = resumed["t"] if resumed is not None else None
    results["newton_iterations"] = pf.counters["newton"]
    results["steps"] = pf.counters["steps"]
    results["rejected_steps"] = pf.counters["rejected"]
    results["setup_s"] = t_built - t_start
    results["solve_s"] = time.perf_counter() - t_built
    results["dofs"] = pf.w.x.petsc_vec.getSize()
    return results, rows, snaps


def summarise(cfg: Config, rows: list[dict], state: dict, ended: str) -> dict:
    """Scalars of a case (the same on every rank: built from allreduced rows)."""
    leak = np.array([r["leakage_current_density"] for r in rows[1:]]) if len(rows) > 1 else np.zeros(1)
    plate = np.array([r["plating_current"] / cfg.height for r in rows[1:]]) if len(rows) > 1 else np.zeros(1)
    # (the initial state is not in equilibrium: the external load acts on u = 0)
    peak = [r["pressure_li_peak"] for r in rows[1:] if math.isfinite(r["pressure_li_peak"])]
    mean = [r["pressure_li_mean"] for r in rows[1:] if math.isfinite(r["pressure_li_mean"])]
    # the "jump": the largest increase of the leakage current between consecutive steps, against
    # its level before; a hard short multiplies it, a soft one wiggles it by tens of percent. The
    # same for the electronic part alone (rows[1:] start from its first nonzero value): the SE's
    # own leakage creeps (< 1.1 per step), a short multiplies it
    electronic = np.array([r["electronic_current_density"] for r in rows[1:]])
    last = rows[-1]
    return {
        "external_pressure_MPa": cfg.external_pressure / 1e6,
        "ended": ended,
        **short_behaviour(cfg, rows, state["short_t"]),
        "t_final_s": last["t"],
        "short_time_s": state["short_t"],
        "li_bridge_time_s": state["bridge_t"],
        "electronic_short_time_s": state["electronic_t"],
        "first_dead_li_s": state["first_dead_t"],
        "dead_li_volume_um2": last["dead_volume"] / UM**2,
        "max_dead_li_volume_um2": max(r["dead_volume"] for r in rows) / UM**2,
        "max_dead_clusters": max(r["dead_clusters"] for r in rows),
        # Li with no electron path to the anode (dead Li above counts Li separated by diffuse Li too)
        "isolated_li_volume_um2": last["isolated_volume"] / UM**2,
        "max_isolated_li_volume_um2": max(r["isolated_volume"] for r in rows) / UM**2,
        "li_grown_volume_um2": last["li_grown_volume"] / UM**2,
        "li_in_pores_volume_um2": last["li_in_pores_volume"] / UM**2,
        "li_along_pore_walls_um2": last["li_along_pore_walls_volume"] / UM**2,
        "li_in_pore_cores_um2": last["li_in_pore_cores_volume"] / UM**2,
        # filling pores (the fullest one's Li / its area) or lining them (Li along the walls, cores empty)
        "pore_fill_max": max(r["pore_fill_max"] for r in rows),
        # of the Li grown into the SE: the share along pore walls (a ring of pore_wall_band)
        "li_along_pore_walls_fraction": last["li_along_pore_walls_volume"] / last["li_grown_volume"]
        if last["li_grown_volume"] > 0 else None,
        "li_front_um": last["li_front"] / UM if math.isfinite(last["li_front"]) else None,
        "pressure_li_peak_MPa": max(peak) / 1e6 if peak else None,
        "pressure_li_peak_final_MPa": last["pressure_li_peak"] / 1e6 if math.isfinite(last["pressure_li_peak"])
        else None,
        "pressure_li_mean_final_MPa": mean[-1] / 1e6 if mean else None,
        "pressure_se_mean_final_MPa": last["pressure_se_mean"] / 1e6,
        "leakage_max_A_m2": float(np.max(leak)),
        "leakage_final_A_m2": float(leak[-1]),
        "leakage_max_step_ratio": _max_step_ratio(leak),
        "electronic_max_step_ratio": _max_step_ratio(electronic),
        "electronic_final_A_m2": last["electronic_current_density"],
        "electronic_fraction_final": last["electronic_fraction"],
        "electronic_fraction_max": max(r["electronic_fraction"] for r in rows),
        "plating_final_A_m2": float(plate[-1]),
        "transport": "single ion (Li+ and electron potentials)" if cfg.electrolyte == "single_ion" else
        "Nernst-Planck, " + ("consistent D_l = sigma RT/(F^2 c0)" if cfg.consistent_transport else
                             "DESIGN D_l = 3.2e-10"),
        "deposition_strain_assumed": cfg.deposition_strain,
        **pore_summary(rows),
    }


def _max_step_ratio(values: np.ndarray) -> float:
    """The largest ratio of a value to the one before it (1 for fewer than two values)."""
    if len(values) < 2:
        return 1.0
    return float(np.max(values[1:] / np.maximum(np.abs(values[:-1]), 1e-300)))


def pore_summary(rows: list[dict]) -> dict:
    """With evolving pores: the drift of the SE volume int rho (round-off: Cahn-Hilliard conserves
    it) and the pore area at the end (cells with rho < 1/2)."""
    if "solid_volume" not in rows[-1]:
        return {}
    volumes = np.array([r["solid_volume"] for r in rows if "solid_volume" in r])
    return {"se_volume_drift": float(np.max(np.abs(volumes / volumes[0] - 1))),
            "pore_area_final_um2": rows[-1]["pore_area"] / UM**2}


def stall_law(cfg: Config, pressure_li: float | None) -> dict:
    """The level a short settles at behind the series resistance, from the Li's mean pressure
    ``pressure_li`` (Pa). After a short the bridge carries the cell's current, the Li+ potential
    relaxes towards the counter electrode's, and every Li surface sees the collector's overpotential
    eta = phi_a. Li grows only while eta lies below the stall overpotential eta*(3 eps0 p) of its
    pressure (PhaseFieldParameters.stall_overpotential), and it strips above it: a bridge thickens
    (more current, phi_a rises) or thins (phi_a falls) until phi_a = eta*(p_Li), i.e. the
    electronic current settles at (eta* - V)/R_s. The load lowers that level (eta* grows with p);
    it cannot remove the jump, whose size is ~R_SE/R_s. A ``counter_contact_resistance`` r_c can
    cap the current lower, at V/(R_s + r_c) once Li covers the counter face (phi_a then stays below
    eta*); the law ignores it. Returns ``stall_overpotential_V`` and
    ``stall_law_current_A_m2`` (None without a series resistance, a plating voltage or a pressure)."""
    none = {"stall_overpotential_V": None, "stall_law_current_A_m2": None}
    if not (cfg.series_resistance > 0 and cfg.voltage < 0 and pressure_li is not None and math.isfinite(pressure_li)):
        return none
    stall = cfg.parameters().stall_overpotential(3 * cfg.deposition_strain * max(pressure_li, 0.0))
    return {"stall_overpotential_V": stall, "stall_law_current_A_m2": (stall - cfg.voltage) / cfg.series_resistance}


def short_behaviour(cfg: Config, rows: list[dict], short_t: float | None) -> dict:
    """How the electronic (leakage) current behaves from the first short on (``short_kind``):
    * "soft": the short opens again: the Li bridge dissolves, the electronic current falls below
      half of its peak so far (``short_openings`` counts the falls, each after it had risen above
      half again), and the cell plates on until the next contact;
    * "partial": it holds, but the bridge is resistive: the current never reaches 90 % of V/R_s,
      the full short behind the series resistance (the bridge keeps more than R_s/9, and the cell
      more than a tenth of the applied voltage);
    * "hard": it holds and reaches 90 % of V/R_s (without a series resistance: whenever it holds).
    ``series_resistance`` > 0 caps a full short at V/R_s (``hard_short_limit_A_m2``): without it the
    current through the bridge is limited by nothing and the step collapses after the short.
    ``electronic_settled_min/max_A_m2``: the range the electronic current settles in, over the
    second half of the time followed after the short; :func:`stall_law` predicts it from the Li's
    final mean pressure."""
    limit = cfg.full_short_current
    last = rows[-1]
    out = {"hard_short_limit_A_m2": limit, "short_openings": 0, "short_kind": None,
           "electronic_after_short_min_A_m2": None, "electronic_after_short_max_A_m2": None,
           "electronic_settled_min_A_m2": None, "electronic_settled_max_A_m2": None,
           "time_after_short_s": 0.0, "collector_potential_final_V": last.get("anode_potential"),
           "cell_resistance_final_ohm_cm2": None, **stall_law(cfg, None)}
    if last.get("anode_current") and last.get("anode_potential") is not None:
        # what the source sees beyond R_s: after a short, mostly the bridge
        out["cell_resistance_final_ohm_cm2"] = last["anode_potential"] / (last["anode_current"] / cfg.height) * 1e4
    if short_t is None:
        return out
    since = [r for r in rows if r["t"] >= short_t]
    after = np.array([r["electronic_current_density"] for r in since])
    # the range it settles in: over the second half of the time followed after the short
    times = np.array([r["t"] for r in since])
    settled = after[times >= short_t + 0.5 * (last["t"] - short_t)]
    peak = np.maximum.accumulate(after)
    low = after < 0.5 * peak
    openings = int(np.count_nonzero(low[1:] & ~low[:-1]))  # high -> low transitions
    kind = "soft" if openings else "partial" if limit and after.max() < 0.9 * limit else "hard"
    out.update(short_openings=openings, short_kind=kind,
               electronic_after_short_min_A_m2=float(after.min()),
               electronic_after_short_max_A_m2=float(after.max()), electronic_settled_min_A_m2=float(settled.min()),
               electronic_settled_max_A_m2=float(settled.max()), time_after_short_s=last["t"] - short_t,
               **stall_law(cfg, last.get("pressure_li_mean")))
    return out


def run(cfg: Config, comm: MPI.Comm, out: ResultDir) -> dict:
    results, rows, snaps = simulate(cfg, comm, out)
    if comm.rank == 0:
        np.savez(out.file("snapshots.npz"), times=np.array(sorted(snaps)),
                 **{f"{k}_{i}": s[k] for i, t in enumerate(sorted(snaps)) for k, s in [(k, snaps[t])
                                                                                     for k in snaps[t]]})
        (out.file("results.json")).write_text(json.dumps(results, indent=2) + "\n")
        if cfg.figure:
            plot_case(cfg, rows, snaps, out.file("dendrite_pressure.png"))
    comm.barrier()
    log.info("dendrite_pressure %.3g MPa: ended %s at %.4g s, short %s, dead Li %.3g um^2, peak p(Li) %s MPa",
             cfg.external_pressure / 1e6, results["ended"], results["t_final_s"], results["short_time_s"],
             results["dead_li_volume_um2"], results["pressure_li_peak_MPa"])
    return results


# -- figures -----------------------------------------------------------------------------------
def _field_panel(ax, s: dict, key: str, cmap: str, label: str, vmin=None, vmax=None, pores=True):
    import matplotlib.tri as mtri

    tri = mtri.Triangulation(s["x"] / UM, s["y"] / UM)
    # the Delaunay triangulation of the cell midpoints spans concave hull gaps along the boundary
    # with long thin triangles: hide those
    xy = np.column_stack([tri.x, tri.y])[tri.triangles]
    edges = np.linalg.norm(xy - np.roll(xy, 1, axis=1), axis=2).max(axis=1)
    tri.set_mask(edges > 4 * np.median(edges))
    im = ax.tripcolor(tri, s[key], shading="gouraud", cmap=cmap, vmin=vmin, vmax=vmax, rasterized=True)
    if pores:
        ax.tricontour(tri, s["solid"], levels=[0.5], colors="tab:red", linewidths=0.6)
    ax.tricontour(tri, s["xi"], levels=[0.5], colors="k", linewidths=0.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label=label)


def _dress(ax, xlabel: str, ylabel: str, title: str, legend: int | None = 7) -> None:
    """Axis labels, a small title and (unless ``legend`` is None or nothing is labelled) a legend
    of that font size."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    if legend is not None and ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=legend)


def _floor(ax, currents) -> None:
    """Log axis from 1e-5 of the smallest counter current: low enough for the SE's own electronic
    leakage (~1e-5 of the ionic current) before a short."""
    level = np.abs(np.asarray(currents, dtype=float))
    level = level[level > 0]
    if level.size:
        ax.set_ylim(bottom=1e-5 * level.min())


def plot_case(cfg: Config, rows: list[dict], snaps: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = sorted(snaps)
    n = len(times)
    fig, axes = plt.subplots(4, n, figsize=(3.2 * n, 10.5), squeeze=False, layout="constrained")
    for j, t in enumerate(times):
        s = snaps[t]
        _field_panel(axes[0, j], s, "xi", "Blues", r"$\xi$", 0, 1)
        axes[0, j].set_title(f"t = {t:.3g} s")
        lo, hi = np.percentile(s["pressure"] / 1e6, [0.5, 99.5])
        _field_panel(axes[1, j], {**s, "p_mpa": s["pressure"] / 1e6}, "p_mpa", "viridis", "p (MPa)", lo, hi)
        e = s["volumetric_strain"]
        elim = np.percentile(np.abs(e), 99.9)
        _field_panel(axes[2, j], s, "volumetric_strain", "PuOr", r"tr $\varepsilon$", -elim, elim)
    gs = axes[3, 0].get_gridspec()
    for ax in axes[3, :]:
        ax.remove()
    half = max(n // 2, 1)
    ax = fig.add_subplot(gs[3, :half])
    t = [r["t"] for r in rows[1:]]
    ax.semilogy(t, [max(abs(r["leakage_current_density"]), 1e-30) for r in rows[1:]], label="counter electrode")
    ax.semilogy(t, [max(abs(r["electronic_current_density"]), 1e-30) for r in rows[1:]], ":",
                label="electronic (leakage) part")
    ax.semilogy(t, [max(r["plating_current"] / cfg.height, 1e-30) for r in rows[1:]], "--", label="plating")
    _floor(ax, [r["leakage_current_density"] for r in rows[1:]])
    if cfg.full_short_current is not None:
        ax.axhline(cfg.full_short_current, color="0.5", ls="--", lw=0.8, label="V/R$_s$ (full short)")
    _dress(ax, "t (s)", "current density (A/m$^2$)", "")
    ax2 = fig.add_subplot(gs[3, half:] if n > 1 else gs[3, :])
    ax2.plot([r["t"] for r in rows], [r["pressure_li_peak"] / 1e6 for r in rows], label="peak p in grown Li")
    ax2.plot([r["t"] for r in rows], [r["pressure_li_mean"] / 1e6 for r in rows], label="mean p in grown Li")
    ax2.plot([r["t"] for r in rows], [r["dead_volume"] / UM**2 for r in rows], ":", label=r"dead Li ($\mu$m$^2$)")
    ax2.plot([r["t"] for r in rows], [r["isolated_volume"] / UM**2 for r in rows], "-.",
             label=r"of it without electrons ($\mu$m$^2$)")
    _dress(ax2, "t (s)", "", "")
    fig.suptitle(f"dendrite_pressure: {cfg.external_pressure / 1e6:g} MPa, {cfg.voltage:g} V "
                 "(red: pores, black: xi = 0.5)")
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- comparison of a sweep -----------------------------------------------------------------------
def load_case(folder: Path) -> dict:
    """history rows, snapshots and results of one complete case folder."""

    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    with (folder / "history.csv").open() as fh:
        rows = [{k: _num(v) for k, v in r.items()} for r in csv.DictReader(fh)]
    data = np.load(folder / "snapshots.npz")
    times = data["times"]
    snaps = {float(t): {k: data[f"{k}_{i}"] for k in ("x", "y", "xi", "pressure", "volumetric_strain", "solid")}
             for i, t in enumerate(times)}
    names = {f.name for f in dataclasses.fields(Config)}
    cfg = Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in manifest["config_si"].items()
                    if k in names})
    results = manifest.get("results", {})
    # the short's behaviour from the history, so that cases run before a change of the criteria compare alike
    results = {**results, **short_behaviour(cfg, rows, results.get("short_time_s"))}
    return {"manifest": manifest, "rows": rows, "snaps": snaps, "results": results,
            "pressure": cfg.external_pressure, "config": cfg, "folder": folder}


def _num(v: str):
    if v in ("True", "False"):
        return v == "True"
    try:
        return float(v)
    except ValueError:
        return v


def find_cases(root: Path) -> list[Path]:
    """Complete dendrite_pressure case folders at or below ``root``."""
    out = []
    for m in sorted(Path(root).rglob("manifest.json")):
        try:
            d = json.loads(m.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if d.get("study") == "dendrite_pressure" and d.get("status") == "complete" and \
                (m.parent / "snapshots.npz").is_file():
            out.append(m.parent)
    return out


def compare(root: Path, out: Path | None = None) -> Path:
    """The comparison figure (+ CSV) of all complete cases below ``root`` (serial, no MPI needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = sorted((load_case(f) for f in find_cases(root)), key=lambda c: c["pressure"])
    if not cases:
        raise FileNotFoundError(f"no complete dendrite_pressure case below {root}")
    out = Path(out) if out else Path(root) / "comparison.png"
    n = len(cases)
    # morphology at the latest snapshot time every case reached (snapshots land on the first step past
    # the requested time: within 5 %), so growth compares at one time; then at each case's end
    def near(t, u):
        return abs(t - u) <= 0.05 * max(t, u)

    common = [t for t in cases[0]["snaps"] if t > 0 and all(any(near(t, u) for u in c["snaps"]) for c in cases)]
    shared = max((t for t in common if t < min(max(c["snaps"]) for c in cases)), default=None)
    fig = plt.figure(figsize=(4.0 * max(n, 4), 12.5 if shared is not None else 8.5), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(2 if shared is not None else 1, 1))
    rows_of_panels = ([shared] if shared is not None else []) + [None]
    axes = top.subplots(len(rows_of_panels), n, squeeze=False)
    for i, when in enumerate(rows_of_panels):
        for j, c in enumerate(cases):
            ax = axes[i, j]
            t_snap = max(c["snaps"]) if when is None else min(c["snaps"], key=lambda u: abs(u - when))
            _field_panel(ax, c["snaps"][t_snap], "xi", "Blues", r"$\xi$", 0, 1)
            title = f"{c['pressure'] / 1e6:g} MPa, t = {t_snap:.3g} s (red: pores)"
            if when is None:  # the end state: how the case ended
                r = c["results"]
                short = r.get("short_time_s")
                kind = r.get("short_kind") or ""
                opened = f" (opened {r['short_openings']}x)" if r.get("short_openings") else ""
                title += ("\nno short" if short is None else f"\n{kind} short at {short:.3g} s{opened}") \
                    + f", dead Li {r.get('dead_li_volume_um2', 0):.3g} um$^2$" \
                    + (f" ({r['isolated_li_volume_um2']:.3g} isolated)" if "isolated_li_volume_um2" in r else "")
            ax.set_title(title, fontsize=8)
    ax, ax4, ax3, ax2 = bottom.subplots(1, 4)
    rows_out = []
    for c in cases:
        label = f"{c['pressure'] / 1e6:g} MPa"
        rows = c["rows"][1:]
        t = [r["t"] for r in rows]
        line, = ax.semilogy(t, [max(abs(r["leakage_current_density"]), 1e-30) for r in rows], label=label)
        ax.semilogy(t, [max(abs(r["electronic_current_density"]), 1e-30) for r in rows], ":", color=line.get_color())
        st = c["results"].get("short_time_s")
        if st is not None:
            ax.axvline(st, color=line.get_color(), ls=":", lw=0.8)
        limit = c["results"].get("hard_short_limit_A_m2")
        if limit:
            ax.axhline(limit, color="0.5", ls="--", lw=0.8)
        if st is not None:  # after the short, linear: a hard short holds, a soft one opens again
            after = [r for r in rows if r["t"] >= st]
            ax4.plot([r["t"] - st for r in after], [r["electronic_current_density"] / (limit or 1) for r in after],
                     color=line.get_color(), label=f"{label}: {c['results'].get('short_kind')}")
            law = [stall_law(c["config"], r["pressure_li_mean"])["stall_law_current_A_m2"] for r in after]
            if limit and all(v is not None for v in law):  # the level the Li's pressure allows, as it goes
                ax4.plot([r["t"] - st for r in after], [v / limit for v in law], "--", lw=0.8, color=line.get_color())
        ax3.plot(t, [r["li_grown_volume"] * 1e12 for r in rows], color=line.get_color(), label=label)
        ax3.plot(t, [r["dead_volume"] * 1e12 for r in rows], ":", color=line.get_color())
        ax3.plot(t, [r["li_in_pores_volume"] * 1e12 for r in rows], "-.", color=line.get_color())
        ax2.plot(t, [r["pressure_li_peak"] / 1e6 for r in rows], color=line.get_color(), label=f"{label} peak")
        ax2.plot(t, [r["pressure_li_mean"] / 1e6 for r in rows], "--", color=line.get_color(), label=f"{label} mean")
        rows_out.append({"external_pressure_MPa": c["pressure"] / 1e6, **c["results"], "folder": str(c["folder"])})
    _dress(ax3, "t (s)", r"Li volume ($\mu$m$^2$ per unit depth)",
           "Li grown into the SE (solid), of it dead (dotted)\nand in pores (dash-dot)", legend=8)
    _floor(ax, [r["leakage_current_density"] for c in cases for r in c["rows"][1:]])
    _dress(ax, "t (s)", "current density at the counter electrode (A/m$^2$)",
           "counter-electrode current (solid), its electronic part (dotted);\n"
           "grey dashed: V/R$_s$, a full short behind the series resistance", legend=8)
    ax4.set_ylim(bottom=0)
    _dress(ax4, "t after the first short (s)",
           "electronic current / (V/R$_s$)" if any(c["results"].get("hard_short_limit_A_m2") for c in cases)
           else "electronic current (A/m$^2$)", "the leakage after the short: hard, partial or soft\n"
           "dashed: the stall law's level", legend=8)
    _dress(ax2, "t (s)", "hydrostatic pressure in the grown Li (MPa)", "pressure in the dendrites")
    fig.savefig(out, dpi=120)
    plt.close(fig)
    write_csv_atomic(out.with_suffix(".csv"), rows_out)
    return out


KIND_MARKERS = {"hard": "o", "partial": "s", "soft": "v", None: "x"}


def ensemble(roots: list[Path], out: Path) -> tuple[Path, list[dict]]:
    """Pore-layout ensemble: the complete cases below ``roots``, which must differ in ``seed`` and
    ``external_pressure`` only. Figure ``out`` (+ CSV): the end states (a row per seed, a column per
    pressure), the electronic current after the first short against V/R_s, the first-short time and
    the share of the grown Li in and along pores against the pressure, one line per seed. At ~5
    pores per cell the kind of short depends on the draw; this shows how much. Returns the figure's
    path and a row per case (seed, pressure, short time and kind, ...), sorted by pressure, seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = [load_case(f) for root in roots for f in find_cases(root)]
    if not cases:
        raise FileNotFoundError(f"no complete dendrite_pressure case below {', '.join(map(str, roots))}")
    base = dataclasses.asdict(cases[0]["config"])
    differ = sorted({k for c in cases for k, v in dataclasses.asdict(c["config"]).items()
                     if k not in ("seed", "external_pressure", *OUTPUT_KEYS) and v != base[k]})
    if differ:
        raise ValueError(f"the ensemble's cases must differ in seed and external_pressure only, not in {differ}")
    by_key = {}
    for c in cases:  # one case per (seed, pressure): the last found wins, so a re-run replaces an old one
        by_key[(c["config"].seed, c["pressure"])] = c
    seeds = sorted({k[0] for k in by_key})
    pressures = sorted({k[1] for k in by_key})
    colours = {p / 1e6: f"C{i}" for i, p in enumerate(pressures)}
    styles = dict(zip(seeds, ["-", "--", "-.", ":"] * len(seeds), strict=False))
    fig = plt.figure(figsize=(4.0 * max(len(pressures), 3), 2.6 * len(seeds) + 4.0), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(2.6 * len(seeds), 4.0))
    grid = top.subplots(len(seeds), len(pressures), squeeze=False)
    ax_after, ax_time, ax_pores = bottom.subplots(1, 3)
    rows_out = []
    for i, seed in enumerate(seeds):
        for j, p in enumerate(pressures):
            ax = grid[i, j]
            c = by_key.get((seed, p))
            if c is None:
                ax.set_axis_off()
                ax.set_title(f"seed {seed}, {p / 1e6:g} MPa: not run", fontsize=8)
                continue
            r = c["results"]
            t_end = max(c["snaps"])
            _field_panel(ax, c["snaps"][t_end], "xi", "Blues", r"$\xi$", 0, 1)
            short = r.get("short_time_s")
            ax.set_title(f"seed {seed}, {p / 1e6:g} MPa, t = {t_end:.3g} s: " +
                         ("no short" if short is None else f"{r['short_kind']} short at {short:.3g} s"), fontsize=8)
            limit = r.get("hard_short_limit_A_m2") or 1.0
            if short is not None:
                after = [row for row in c["rows"] if row["t"] >= short]
                ax_after.plot([row["t"] - short for row in after],
                              [row["electronic_current_density"] / limit for row in after],
                              color=colours[p / 1e6], ls=styles[seed], label=f"seed {seed}, {p / 1e6:g} MPa")
            # the leakage after the short as fractions of V/R_s (None without a short)
            of_limit = {k: (r[f"electronic_{k}_A_m2"] / limit if short is not None else None)
                        for k in ("settled_min", "settled_max", "after_short_max")}
            p_li = r.get("pressure_li_mean_final_MPa")
            law = stall_law(c["config"], None if short is None or p_li is None else p_li * 1e6)
            of_limit["stall_law"] = (law["stall_law_current_A_m2"] / limit
                                     if law["stall_law_current_A_m2"] is not None else None)
            if of_limit["stall_law"] is not None:  # the level the stall law predicts, at the end
                ax_after.plot(r["t_final_s"] - short, of_limit["stall_law"], "_", ms=14, mew=2,
                              color=colours[p / 1e6])
            grown = r.get("li_grown_volume_um2") or float("nan")
            rows_out.append({"seed": seed, "external_pressure_MPa": p / 1e6, "short_time_s": short,
                             "short_kind": r.get("short_kind"), "short_openings": r.get("short_openings"),
                             "settled_min_of_limit": of_limit["settled_min"],
                             "settled_max_of_limit": of_limit["settled_max"],
                             "peak_after_short_of_limit": of_limit["after_short_max"],
                             "stall_law_of_limit": of_limit["stall_law"],
                             "collector_potential_final_V": r.get("collector_potential_final_V"),
                             "stall_overpotential_V": law["stall_overpotential_V"],
                             "pressure_li_mean_final_MPa": p_li,
                             "time_after_short_s": r.get("time_after_short_s"),
                             "li_grown_um2": r.get("li_grown_volume_um2"),
                             "li_in_pores_fraction": r.get("li_in_pores_volume_um2", float("nan")) / grown,
                             "li_along_pore_walls_fraction": r.get("li_along_pore_walls_fraction"),
                             "pore_fill_max": r.get("pore_fill_max"),
                             "max_dead_li_um2": r.get("max_dead_li_volume_um2"),
                             "pressure_li_peak_MPa": r.get("pressure_li_peak_MPa"), "folder": str(c["folder"])})
    rows_out.sort(key=lambda row: (row["external_pressure_MPa"], row["seed"]))
    for seed in seeds:
        mine = [row for row in rows_out if row["seed"] == seed]
        mpa = [row["external_pressure_MPa"] for row in mine]
        for ax, key in ((ax_time, "short_time_s"), (ax_pores, "li_in_pores_fraction")):
            ax.plot(mpa, [np.nan if row[key] is None else row[key] for row in mine], color="0.6", ls=styles[seed],
                    lw=0.8, label=f"seed {seed}" if ax is ax_time else None)
        for row in mine:
            ax_time.plot(row["external_pressure_MPa"], np.nan if row["short_time_s"] is None else row["short_time_s"],
                         KIND_MARKERS.get(row["short_kind"], "x"), color=colours[row["external_pressure_MPa"]])
            ax_pores.plot(row["external_pressure_MPa"], row["li_in_pores_fraction"], "o", color="0.3")
            ax_pores.plot(row["external_pressure_MPa"], row["li_along_pore_walls_fraction"] or np.nan, "^",
                          color="tab:red")
    for kind, marker in KIND_MARKERS.items():
        if kind:
            ax_time.plot([], [], marker, color="k", label=kind)
    ax_after.set_ylim(bottom=0)
    if any(row["stall_law_of_limit"] is not None for row in rows_out):
        ax_after.plot([], [], "_", ms=14, mew=2, color="k", label="stall law at the end")
    _dress(ax_after, "t after the first short (s)", "electronic current / (V/R$_s$)",
           "the leakage after the short (colour: pressure, line: seed)")
    _dress(ax_time, "external pressure (MPa)", "first short (s)", "first short; marker: its kind")
    ax_pores.plot([], [], "o", color="0.3", label="in pores")
    ax_pores.plot([], [], "^", color="tab:red", label="within the band outside pore walls")
    _dress(ax_pores, "external pressure (MPa)", "share of the grown Li", "Li in pores and along their walls")
    fig.suptitle(f"dendrite_pressure: pore-layout ensemble, seeds {', '.join(map(str, seeds))}")
    out = Path(out)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    write_csv_atomic(out.with_suffix(".csv"), rows_out)
    return out, rows_out


def ensemble_table(rows: list[dict]) -> str:
    """The rows of :func:`ensemble` as a markdown table (for the README)."""
    def fmt(v, spec):
        return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, spec)

    lines = ["| seed | MPa | first short (s) | kind | settles at (of V/R_s) | stall law | Li grown (um^2) | "
             "in pores | along pore walls | dead Li, max (um^2) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['seed']} | {r['external_pressure_MPa']:g} | {fmt(r['short_time_s'], '.1f')} | "
                     f"{r['short_kind'] or 'none'} | {fmt(r['settled_min_of_limit'], '.0%')}-"
                     f"{fmt(r['settled_max_of_limit'], '.0%')} | {fmt(r['stall_law_of_limit'], '.0%')} | "
                     f"{fmt(r['li_grown_um2'], '.0f')} | "
                     f"{fmt(r['li_in_pores_fraction'], '.0%')} | {fmt(r['li_along_pore_walls_fraction'], '.0%')} | "
                     f"{fmt(r['max_dead_li_um2'], '.0f')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ssbx.studies.dendrite_pressure")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compare", help="comparison figure of the complete cases below a results folder")
    c.add_argument("root", type=Path)
    c.add_argument("-o", "--output", type=Path, default=None)
    e = sub.add_parser("ensemble", help="pore-layout ensemble: the cases below the folders, by seed and pressure")
    e.add_argument("roots", type=Path, nargs="+")
    e.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    if MPI.COMM_WORLD.rank != 0:
        return 0
    if args.command == "compare":
        print(compare(args.root, args.output))
    else:
        path, rows = ensemble(args.roots, args.output)
        print(ensemble_table(rows))
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
