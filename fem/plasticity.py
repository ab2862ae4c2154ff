"""Small-strain elastoplastic solids with return mapping at quadrature points: J2 (von Mises) with
linear isotropic hardening for PTFE and the SS rods' elastic limit, and -- through the
:class:`ConstitutiveLaw` protocol -- any law with internal variables, e.g. the densifying SE powder
of :mod:`ssbx.fem.compaction`. One body mesh may hold several laws, one per cell region.

Plane strain and axisymmetric. Stresses and strains are Mandel vectors (normal components, then
sqrt(2) x shear) so that sigma:eps is a dot product and the tangent a symmetric 4x4 matrix:
plane (xx, yy, zz, xy), axisymmetric (rr, zz, tt, rz). Stress and consistent tangent live in
quadrature spaces; each law keeps its internal variables as a (points, n_state) array for the
points of its cells. Each Newton iteration interpolates the strain increment at the quadrature
points, runs every law's return mapping in numpy and assembles the residual and the tangent.

J2 radial return and its consistent tangent (Simo & Hughes, Computational Inelasticity, box 3.2):

    C_ep = K m m^T + 2G theta P_dev - 2G theta_bar n n^T,
    theta = 1 - 3G dp / q_trial,  theta_bar = 3G / (3G + H) - (1 - theta).

Newton converges quadratically once the plastic zone has settled (tests check B4).

Load stepping: change the pressure/displacement Constants and call :meth:`ElastoplasticSolid.step`.
A step that does not converge raises :class:`PlasticityDivergedError` on every rank after putting
back the last accepted state, so a study can cut the increment and retry (or checkpoint).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from mpi4py import MPI
from petsc4py import PETSc

import basix
import basix.ufl
import numpy as np
import ufl
from dolfinx import default_scalar_type, fem
from dolfinx.fem.petsc import apply_lifting, assemble_matrix, assemble_vector, set_bc
from ssbx.fem import kinematics
from ssbx.fem.boundary import FixedComponent, NormalPressure, measure
from ssbx.fem.li_creep import CreepLaw, radial_return
from ssbx.fem.solvers import solver_options
from ssbx.geometries.tagged_mesh import TaggedMesh

# -- Mandel-vector algebra shared by every law at quadrature points ----------------------------
M = np.array([1.0, 1.0, 1.0, 0.0])  # identity as a Mandel vector
P_DEV = np.eye(4) - np.outer(M, M) / 3.0  # deviatoric projector
SQ2 = np.sqrt(2.0)


def isotropic_matrix(bulk, shear) -> np.ndarray:
    """Isotropic stiffness K m m^T + 2G P_dev as Mandel matrices: (4, 4) for scalars, (n, 4, 4)
    for arrays of moduli (Pa)."""
    bulk, shear = np.asarray(bulk, dtype=float), np.asarray(shear, dtype=float)
    return bulk[..., None, None] * np.outer(M, M) + 2 * shear[..., None, None] * P_DEV


def mean_stress(sig: np.ndarray) -> np.ndarray:
    """p = tr(sigma)/3 of rows of Mandel vectors (Pa; negative in compression)."""
    return sig @ M / 3.0


def equivalent_stress(sig: np.ndarray) -> np.ndarray:
    """Von Mises q = sqrt(3/2 s:s) of rows of Mandel vectors (Pa)."""
    s = sig @ P_DEV
    return np.sqrt(1.5 * np.einsum("...i,...i->...", s, s))


class PlasticityDivergedError(RuntimeError):
    """The elastoplastic Newton iteration (or a local return mapping) did not converge. The solid
    has been put back to its last accepted state; cut the load increment and call step again."""


@runtime_checkable
class ConstitutiveLaw(Protocol):
    """A small-strain law evaluated at quadrature points (rows of Mandel 4-vectors, SI units).

    ``state_names`` names the columns of the internal-variable array (may be empty). ``update``
    must not raise for points where it fails to converge: it returns non-finite stresses there,
    and the solid turns that into a :class:`PlasticityDivergedError` on every rank at once.
    """

    state_names: ClassVar[tuple[str, ...]]

    def initial_state(self, n: int) -> np.ndarray:
        """(n, len(state_names)) internal variables of the virgin material."""
        ...

    def elastic_matrix(self, state: np.ndarray | None = None) -> np.ndarray:
        """Elastic Mandel stiffness (Pa): (4, 4) for ``state=None`` (virgin material), else (n, 4, 4)."""
        ...

    def update(self, sig_old: np.ndarray, state_old: np.ndarray,
               deps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stress (n, 4), internal variables (n, n_state) and consistent tangent (n, 4, 4) after
        the strain increment ``deps`` (n, 4) from the accepted ``sig_old`` and ``state_old``."""
        ...


def _per_point(matrix: np.ndarray, state: np.ndarray | None) -> np.ndarray:
    return matrix if state is None else np.broadcast_to(matrix, (len(state), 4, 4)).copy()


class _IsotropicModuli:
    """Shear and bulk moduli (Pa) of a law with ``youngs_modulus`` and ``poisson_ratio`` fields."""

    @property
    def shear(self) -> float:
        return self.youngs_modulus / (2 * (1 + self.poisson_ratio))

    @property
    def bulk(self) -> float:
        return self.youngs_modulus / (3 * (1 - 2 * self.poisson_ratio))


@dataclass(frozen=True)
class LinearElastic(_IsotropicModuli):
    """Hooke's law as a quadrature-point law (e.g. the SS316 rods well below yield)."""

    youngs_modulus: float  # Pa
    poisson_ratio: float  # -

    state_names: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        if not self.youngs_modulus > 0:
            raise ValueError(f"LinearElastic: youngs_modulus must be positive, got {self.youngs_modulus}")
        if not -1 < self.poisson_ratio < 0.5:
            raise ValueError(f"LinearElastic: poisson_ratio must lie in (-1, 0.5), got {self.poisson_ratio}")

    def initial_state(self, n: int) -> np.ndarray:
        return np.zeros((n, 0))

    def elastic_matrix(self, state: np.ndarray | None = None) -> np.ndarray:
        return _per_point(isotropic_matrix(self.bulk, self.shear), state)

    def update(self, sig_old, state_old, deps):
        C = self.elastic_matrix()
        return sig_old + deps @ C, state_old.copy(), np.broadcast_to(C, (len(deps), 4, 4)).copy()


@dataclass(frozen=True)
class J2Material(_IsotropicModuli):
    """Von Mises plasticity with linear isotropic hardening; ``yield_stress=inf`` is elastic."""

    youngs_modulus: float  # Pa
    poisson_ratio: float  # -
    yield_stress: float  # Pa
    hardening: float = 0.0  # H = d sigma_y / d p (Pa)

    state_names: ClassVar[tuple[str, ...]] = ("equivalent_plastic_strain",)

    def __post_init__(self):
        if not (self.youngs_modulus > 0 and -1 < self.poisson_ratio < 0.5):
            raise ValueError("J2Material: youngs_modulus must be positive and poisson_ratio in (-1, 0.5)")
        if not (self.yield_stress > 0 and self.hardening >= 0):
            raise ValueError("J2Material: yield_stress must be positive and hardening >= 0")

    def initial_state(self, n: int) -> np.ndarray:
        return np.zeros((n, 1))

    def elastic_matrix(self, state: np.ndarray | None = None) -> np.ndarray:
        return _per_point(isotropic_matrix(self.bulk, self.shear), state)

    def update(self, sig_old, state_old, deps):
        sig, p, tangent = return_mapping(self, sig_old, state_old[:, 0], deps)
        return sig, p[:, None], tangent


def return_mapping(mat: J2Material, sig_old: np.ndarray, p_old: np.ndarray, deps: np.ndarray):
    """Radial return for rows of Mandel vectors: (stress, plastic strain, tangents (n, 4, 4))."""
    C = mat.elastic_matrix()
    G, H = mat.shear, mat.hardening
    trial = sig_old + deps @ C
    q = equivalent_stress(trial)
    f = q - (mat.yield_stress + H * p_old)
    dp = np.where(f > 0, f / (3 * G + H), 0.0)
    sig, tangent = radial_correction(C, mat.bulk, G, trial, q, dp, np.full_like(q, H))
    return sig, p_old + dp, tangent


def radial_correction(C, K, G, trial, q, dp, H):
    """Stress and consistent tangent of a J2-type radial return: ``dp`` (per point) is the
    equivalent plastic strain increment found by the law, ``H`` (per point) the slope of its flow
    stress in dp (hardening, or rate sensitivity over one step). Shared by J2 and creep laws."""
    s = trial @ P_DEV
    plastic = dp > 0
    qs = np.where(plastic, q, 1.0)
    factor = np.where(plastic, 3 * G * dp / qs, 0.0)
    sig = trial - factor[:, None] * s
    tangent = np.broadcast_to(C, (len(q), 4, 4)).copy()
    if np.any(plastic):
        n = s[plastic] / np.linalg.norm(s[plastic], axis=1)[:, None]
        theta = 1 - factor[plastic]
        theta_bar = 3 * G / (3 * G + H[plastic]) - factor[plastic]
        tangent[plastic] = (K * np.outer(M, M)[None] + 2 * G * theta[:, None, None] * P_DEV[None]
                            - 2 * G * theta_bar[:, None, None] * np.einsum("ni,nj->nij", n, n))
    return sig, tangent


@dataclass
class ViscoplasticLi(_IsotropicModuli):
    """Li metal as a Perzyna/Norton elasto-viscoplastic law at quadrature points (backward Euler
    over ``time_step``): the equivalent creep strain rate is ``creep.strain_rate(q)`` (overstress
    above ``creep.yield_stress``), returned radially by :func:`ssbx.fem.li_creep.radial_return`.

    The consistent tangent is the J2 one with the hardening replaced by the slope of the flow
    stress d(sigma_f)/d(dp) at the solution (rate sensitivity acts as hardening over one step).
    ``eigenstrain_rate`` (Mandel 4-vector, 1/s) is a stress-free strain rate, e.g. the growth of a
    layer that plated Li is added to; its increment ``eigenstrain_rate * time_step`` is removed
    from the strain increment before the return mapping. Mutable: a study sets ``time_step``
    (s) before each increment (``inf`` makes it rate-independent at the yield stress).
    """

    youngs_modulus: float  # Pa
    poisson_ratio: float  # -
    creep: CreepLaw
    time_step: float = 1.0  # s
    eigenstrain_rate: np.ndarray = field(default_factory=lambda: np.zeros(4))  # 1/s, Mandel

    state_names: ClassVar[tuple[str, ...]] = ("equivalent_plastic_strain",)

    def __post_init__(self):
        if not (self.youngs_modulus > 0 and -1 < self.poisson_ratio < 0.5):
            raise ValueError("ViscoplasticLi: youngs_modulus must be positive and poisson_ratio in (-1, 0.5)")
        if not self.time_step > 0:
            raise ValueError(f"ViscoplasticLi: time_step must be positive (s), got {self.time_step}")
        self.eigenstrain_rate = np.asarray(self.eigenstrain_rate, dtype=float).reshape(4)

    def initial_state(self, n: int) -> np.ndarray:
        return np.zeros((n, 1))

    def elastic_matrix(self, state: np.ndarray | None = None) -> np.ndarray:
        return _per_point(isotropic_matrix(self.bulk, self.shear), state)

    def update(self, sig_old, state_old, deps):
        if not self.time_step > 0:
            raise ValueError(f"ViscoplasticLi: time_step must be positive, got {self.time_step}")
        C = self.elastic_matrix()
        G = self.shear
        finite = np.isfinite(self.time_step)
        # rate-independent limit (time_step = inf): no eigenstrain increment (0 * inf would be nan)
        eig = self.eigenstrain_rate * self.time_step if finite else 0.0
        trial = sig_old + (deps - eig) @ C
        q = equivalent_stress(trial)
        if finite:
            dp, slope = radial_return(q, G, self.time_step, self.creep)
        else:  # perfectly plastic at the yield stress
            dp = np.maximum(q - self.creep.yield_stress, 0.0) / (3 * G)
            slope = np.zeros_like(q)
        sig, tangent = radial_correction(C, self.bulk, G, trial, q, dp, slope)
        return sig, state_old + dp[:, None], tangent


def mandel_strain(u, kind: str, mesh):
    e = kinematics.strain(u, kind, mesh)
    if kind == kinematics.PLANE:
        return ufl.as_vector([e[0, 0], e[1, 1], e[2, 2], SQ2 * e[0, 1]])
    if kind == kinematics.AXISYMMETRIC:
        return ufl.as_vector([e[0, 0], e[2, 2], e[1, 1], SQ2 * e[0, 2]])
    raise ValueError("quadrature-point plasticity: plane or axisymmetric meshes only")


def mandel_to_tensor(v, kind: str):
    """3x3 tensor (in kinematics ordering) from a Mandel vector."""
    if kind == kinematics.PLANE:
        return ufl.as_tensor([[v[0], v[3] / SQ2, 0], [v[3] / SQ2, v[1], 0], [0, 0, v[2]]])
    return ufl.as_tensor([[v[0], 0, v[3] / SQ2], [0, v[2], 0], [v[3] / SQ2, 0, v[1]]])


class _Region:
    """The quadrature points of one law: indices into the solid's point arrays and their state."""

    def __init__(self, name: str, law: ConstitutiveLaw, points: np.ndarray):
        self.name, self.law, self.points = name, law, points
        self.state = law.initial_state(len(points))
        self.state_old = self.state.copy()


class ElastoplasticSolid:
    """One body mesh, small strains, one constitutive law per cell region.

    ``materials`` is a law (for the whole mesh) or a mapping cell-group name -> law that covers
    every cell, e.g. ``{"se": PowderCompaction(), "ptfe": J2Material(...), "rod_top": LinearElastic(...)}``.
    Loads: :class:`NormalPressure` (Pa, Constants or Functions) and :class:`FixedComponent` (m; number
    or Constant). ``extra_residual(u, v)`` adds a UFL term to the virtual work (e.g. penalty contact,
    :mod:`ssbx.fem.contact`); its Gateaux derivative is added to the tangent.

    :meth:`step` solves one load increment by Newton from the last accepted state and, with
    ``accept=True`` (default), accepts it. :meth:`accept` / :meth:`reject` make the converged
    state the new reference / put back the last accepted one (displacement, stress, internal
    variables). Output fields show the last converged (or restored) state: ``u``, ``sig``
    (quadrature), ``p`` (equivalent plastic strain, quadrature), ``density_q`` / ``density``
    (relative density at the quadrature points / cell averages in DG0 for maps; 1 for laws
    without one); :meth:`mean_density` and :meth:`average` reduce them over ranks.
    """

    def __init__(self, tm: TaggedMesh, materials: ConstitutiveLaw | Mapping[str, ConstitutiveLaw], *,
                 fixed: Sequence[FixedComponent] = (), pressures: Sequence[NormalPressure] = (),
                 degree: int = 2, quadrature_degree: int = 2, rtol: float = 1e-8, max_it: int = 30,
                 solver: str = "direct", prefix: str = "j2_", atol: float = 0.0,
                 extra_residual: Callable[[fem.Function, ufl.Argument], ufl.Form] | None = None,
                 line_search: bool = False):
        msh = tm.mesh
        self.tm, self.kind = tm, tm.kind
        tm.require(cells=list(materials) if isinstance(materials, Mapping) else (),
                   facets=[f for b in fixed for f in b.facets] + [f for ld in pressures for f in ld.facets])
        gdim = msh.geometry.dim
        self.V = fem.functionspace(msh, ("Lagrange", degree, (gdim,)))
        self.u = fem.Function(self.V, name="displacement")
        self.du = fem.Function(self.V)
        self.u_old = fem.Function(self.V)
        cell = msh.basix_cell()
        Qv = fem.functionspace(msh, basix.ufl.quadrature_element(cell, value_shape=(4,), degree=quadrature_degree))
        Qs = fem.functionspace(msh, basix.ufl.quadrature_element(cell, value_shape=(), degree=quadrature_degree))
        Qt = fem.functionspace(msh, basix.ufl.quadrature_element(cell, value_shape=(4, 4), degree=quadrature_degree))
        self.sig, self.sig_old = fem.Function(Qv, name="stress"), fem.Function(Qv)
        self.p = fem.Function(Qs, name="plastic_strain")
        self.density_q = fem.Function(Qs, name="relative_density")
        self.density = fem.Function(fem.functionspace(msh, ("DG", 0)), name="relative_density")
        self.tangent = fem.Function(Qt)
        self.eps_old = fem.Function(Qv)
        self._eps = fem.Function(Qv)
        self._regions = self._split(materials, Qs)
        self._qweights = basix.make_quadrature(cell, quadrature_degree)[1]
        self._qdeg = quadrature_degree
        self._state_pack = None
        for reg in self._regions:
            self.tangent.x.array.reshape(-1, 16)[reg.points] = reg.law.elastic_matrix(reg.state).reshape(-1, 16)
        self.dxq = ufl.Measure("dx", domain=msh, subdomain_data=tm.cell_tags,
                               metadata={"quadrature_degree": quadrature_degree, "quadrature_rule": "default"})
        dx = self.dxq
        wt = kinematics.volume_weight(msh, self.kind)
        self._wt = wt
        v, w = ufl.TestFunction(self.V), ufl.TrialFunction(self.V)
        ev = mandel_strain(v, self.kind, msh)
        self._residual = ufl.inner(self.sig, ev) * wt * dx
        n = ufl.FacetNormal(msh)
        for load in pressures:
            self._residual += load.pressure * ufl.inner(n, v) * wt * measure(tm, facets=load.facets)
        self._jacobian = ufl.inner(ufl.dot(self.tangent, mandel_strain(w, self.kind, msh)), ev) * wt * dx
        if extra_residual is not None:  # e.g. a contact term: its own derivative joins the tangent
            extra = extra_residual(self.u, v)
            self._residual += extra
            self._jacobian += ufl.derivative(extra, self.u, w)
        self.F, self.J = fem.form(self._residual), fem.form(self._jacobian)
        self._strain_expr = fem.Expression(mandel_strain(self.u, self.kind, msh), Qv.element.interpolation_points)
        self._radius_expr = fem.Expression(ufl.SpatialCoordinate(msh)[0], Qs.element.interpolation_points)
        fdim = msh.topology.dim - 1
        self.bcs = []
        for b in fixed:
            sub = self.V.sub(b.component)
            dofs = fem.locate_dofs_topological(sub, fdim, np.concatenate([tm.facets(f) for f in b.facets]))
            value = b.value if isinstance(b.value, fem.Constant) else default_scalar_type(b.value)
            self.bcs.append(fem.dirichletbc(value, dofs, sub))
        self.A = fem.petsc.create_matrix(self.J)
        self.b = fem.petsc.create_vector(self.V)
        # the linear solver comes from a preset of ssbx.fem.solvers, overridable in PETSc's
        # options database under ``prefix`` (e.g. -j2_ksp_type cg -j2_pc_type gamg)
        self.ksp = PETSc.KSP().create(msh.comm)
        self.ksp.setOperators(self.A)
        self.ksp.setOptionsPrefix(prefix)
        db = PETSc.Options()
        for key, value in solver_options(solver).items():
            if not db.hasName(f"{prefix}{key}"):
                db[f"{prefix}{key}"] = value
        self.ksp.setFromOptions()
        self.rtol, self.max_it = rtol, max_it
        self.atol = atol  # N: absolute floor of the residual test (a body unloaded to ~zero stress)
        self.max_halvings = 10
        self.line_search = line_search  # backtrack a correction that does not lower the residual norm
        self.max_backtracks = 6
        self._refresh_outputs()

    # -- set-up ---------------------------------------------------------------------------------
    def _split(self, materials, Qs) -> list[_Region]:
        """Quadrature points of each law's cells; every cell must have exactly one law."""
        dofs = Qs.dofmap.list  # (cells, points per cell), owned and ghost cells
        laws = materials if isinstance(materials, Mapping) else {"all": materials}
        for name, law in laws.items():
            if not isinstance(law, ConstitutiveLaw):
                raise TypeError(f"material for region '{name}' is not a ConstitutiveLaw: {law!r}")
        if not isinstance(materials, Mapping):
            return [_Region("all", materials, dofs.ravel())]
        comm = self.tm.comm
        count = np.zeros(len(dofs), dtype=np.int32)
        regions = []
        for name, law in materials.items():
            cells = self.tm.cells(name)
            count[cells] += 1
            regions.append(_Region(name, law, dofs[cells].ravel()))
        owned = count[: self.tm.mesh.topology.index_map(self.tm.mesh.topology.dim).size_local]
        overlap = comm.allreduce(int(np.sum(owned > 1)), op=MPI.SUM)
        missing = comm.allreduce(int(np.sum(owned == 0)), op=MPI.SUM)
        if overlap or missing:
            others = sorted(set(self.tm.cell_groups) - set(materials))
            raise ValueError(f"materials must give every cell exactly one law: {missing} cell(s) without a law "
                             f"(unassigned cell groups: {others}), {overlap} cell(s) in two regions")
        return regions

    # -- laws at the quadrature points -------------------------------------------------------------
    @property
    def mat(self) -> ConstitutiveLaw:
        """The law of a single-material solid."""
        if len(self._regions) != 1:
            raise AttributeError("this solid holds several materials; see .materials")
        return self._regions[0].law

    @property
    def materials(self) -> dict[str, ConstitutiveLaw]:
        return {reg.name: reg.law for reg in self._regions}

    def replace_law(self, region: str, law: ConstitutiveLaw, reset: bool = True):
        """Give the cells of ``region`` a new law (e.g. a layer placed into the stack between
        steps: Li foil where a rod extension was). With ``reset`` the region's accepted stress and
        internal variables restart from the new law's virgin state: the material is placed stress
        free in its current (displaced) configuration, since the update is incremental."""
        for reg in self._regions:
            if reg.name == region:
                reg.law = law
                if reset:
                    reg.state = law.initial_state(len(reg.points))
                    reg.state_old = reg.state.copy()
                    for f in (self.sig, self.sig_old):
                        f.x.array.reshape(-1, 4)[reg.points] = 0.0
                self.tangent.x.array.reshape(-1, 16)[reg.points] = law.elastic_matrix(reg.state).reshape(-1, 16)
                self._refresh_outputs()
                return
        raise KeyError(f"no region '{region}'; regions: {[r.name for r in self._regions]}")

    def _update_state(self) -> bool:
        """Stress, internal variables and tangent from the total strain of the current u; False if
        a return mapping failed on this rank."""
        self._eps.interpolate(self._strain_expr)
        deps = (self._eps.x.array - self.eps_old.x.array).reshape(-1, 4)
        sig_old = self.sig_old.x.array.reshape(-1, 4)
        sig, tan = self.sig.x.array.reshape(-1, 4), self.tangent.x.array.reshape(-1, 16)
        ok = True
        for reg in self._regions:
            s, st, t = reg.law.update(sig_old[reg.points], reg.state_old, deps[reg.points])
            sig[reg.points], tan[reg.points], reg.state = s, t.reshape(-1, 16), st
            ok = ok and bool(np.all(np.isfinite(s)) and np.all(np.isfinite(t)))
        return ok

    def _refresh_outputs(self):
        """Quadrature and DG0 output fields from the current internal variables."""
        self.p.x.array[:] = 0.0
        self.density_q.x.array[:] = 1.0
        for reg in self._regions:
            names = reg.law.state_names
            if "equivalent_plastic_strain" in names:
                self.p.x.array[reg.points] = reg.state[:, names.index("equivalent_plastic_strain")]
            if "relative_density" in names:
                self.density_q.x.array[reg.points] = reg.state[:, names.index("relative_density")]
        nq = len(self._qweights)
        w = self._qweights / self._qweights.sum()
        self.density.x.array[:] = self.density_q.x.array.reshape(-1, nq) @ w

    # -- Newton ----------------------------------------------------------------------------------
    def _assemble_residual(self) -> tuple[float, float]:
        """Newton residual (Dirichlet rows: u - g) and its norm, plus the norm of the internal force
        vector with the reactions left in (N): the force scale the convergence test is relative
        to, so a step that changes no load (a hold) or only a prescribed displacement converges."""
        with self.b.localForm() as loc:
            loc.set(0.0)
        assemble_vector(self.b, self.F)
        self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        scale = self.b.norm()
        with self.b.localForm() as loc:
            loc.set(0.0)
        assemble_vector(self.b, self.F)
        apply_lifting(self.b, [self.J], [self.bcs], x0=[self.u.x.petsc_vec], alpha=-1.0)
        self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        set_bc(self.b, self.bcs, self.u.x.petsc_vec, -1.0)
        return self.b.norm(), scale

    def _fail(self, message: str, cause: Exception | None = None):
        self.reject()
        raise PlasticityDivergedError(message + "; the last accepted state was restored, cut the load "
                                      "increment and retry") from cause

    def step(self, accept: bool = True) -> int:
        """Newton for the current loads from the last accepted state (accepted on convergence
        unless ``accept=False``). Returns the number of iterations.

        Raises :class:`PlasticityDivergedError` (on every rank, after :meth:`reject`) when Newton
        does not converge in ``max_it`` iterations, the residual is not finite, a return mapping
        fails, or the linear solver fails."""
        # The increment of prescribed displacements is not written into u: the first Newton
        # correction carries it into the body through the tangent (lifting with x0 = u), instead
        # of concentrating it in the boundary cells.
        if not self.tm.comm.allreduce(self._update_state(), op=MPI.LAND):
            self._fail("elastoplastic solid: return mapping failed at the start of the increment")
        norm = scale = float("nan")
        for it in range(1, self.max_it + 1):
            self.A.zeroEntries()
            assemble_matrix(self.A, self.J, bcs=self.bcs)
            self.A.assemble()
            norm, scale = self._assemble_residual()
            if not np.isfinite(norm):
                self._fail(f"elastoplastic solid: residual not finite at Newton iteration {it}")
            # from the second iteration on the prescribed displacements hold and the residual is
            # a force; 1e-8 of the force scale sits above the round-off floor of stiff (nearly
            # incompressible) bodies
            if it > 1 and norm <= max(self.rtol * scale, self.atol):
                break
            try:
                self.ksp.solve(self.b, self.du.x.petsc_vec)
            except PETSc.Error as e:
                self._fail(f"elastoplastic solid: linear solve failed at Newton iteration {it}", e)
            self.du.x.scatter_forward()
            # A stiffening law (powder densification) linearised at a soft state can overshoot to
            # strains no admissible state reaches (density > 1); halve the correction until every
            # return mapping succeeds.
            u_prev, factor = self.u.x.array.copy(), 1.0
            for _ in range(self.max_halvings + 1):
                self.u.x.array[:] = u_prev - factor * self.du.x.array
                if self.tm.comm.allreduce(self._update_state(), op=MPI.LAND):
                    break
                factor *= 0.5
            else:
                self._fail(f"elastoplastic solid: return mapping failed at Newton iteration {it} even after "
                           f"{self.max_halvings} halvings of the correction")
            if self.line_search and it > 1:
                self._backtrack(u_prev, factor, norm)
        else:
            self._fail(f"elastoplastic solid: Newton did not converge in {self.max_it} iterations "
                       f"(residual {norm:.3e} N, {norm / max(scale, 1e-300):.2e} of the force scale)")
        self._refresh_outputs()
        if accept:
            self.accept()
        return it

    def _backtrack(self, u_prev: np.ndarray, factor: float, norm: float):
        """Residual line search: halve the correction ``factor`` du (applied, return mappings
        admissible) while the residual norm does not fall below ``norm``; keeps the step of the
        smallest residual tried. Newton on a nonsmooth law (return mapping, contact, stick/slip
        friction) linearised far from the solution can overshoot and cycle between two states;
        the backtracking restores descent. Only from the second iteration on (the first carries
        the prescribed displacements)."""
        best_norm, best_factor = self._assemble_residual()[0], factor
        tries = 0
        while not best_norm < (1.0 - 1e-4 * factor) * norm and tries < self.max_backtracks:
            tries += 1
            factor *= 0.5
            self.u.x.array[:] = u_prev - factor * self.du.x.array
            if not self.tm.comm.allreduce(self._update_state(), op=MPI.LAND):
                continue
            trial = self._assemble_residual()[0]
            if trial < best_norm:
                best_norm, best_factor = trial, factor
        if best_factor != factor:
            self.u.x.array[:] = u_prev - best_factor * self.du.x.array
            self._update_state()

    def accept(self):
        """Make the current (converged) state the reference of the next increment."""
        self.u_old.x.array[:] = self.u.x.array
        self.sig_old.x.array[:] = self.sig.x.array
        self.eps_old.x.array[:] = self._eps.x.array
        for reg in self._regions:
            reg.state_old = reg.state.copy()

    def reject(self):
        """Put back the last accepted displacement, stress and internal variables."""
        self.u.x.array[:] = self.u_old.x.array
        self.sig.x.array[:] = self.sig_old.x.array
        self._eps.x.array[:] = self.eps_old.x.array
        for reg in self._regions:
            reg.state = reg.state_old.copy()
        self._refresh_outputs()

    # -- restart ----------------------------------------------------------------------------------
    def checkpoint_fields(self) -> dict[str, fem.Function]:
        """The accepted state as Functions for :func:`ssbx.fem.io.save_checkpoint` (displacement,
        stress, total strain and every region's internal variables packed in one quadrature field)."""
        width = max([len(reg.law.state_names) for reg in self._regions] + [1])
        if self._state_pack is None or self._state_pack.x.array.size != self.p.x.array.size * width:
            Q = fem.functionspace(self.tm.mesh, basix.ufl.quadrature_element(
                self.tm.mesh.basix_cell(), value_shape=(width,), degree=self._qdeg))
            self._state_pack = fem.Function(Q)
        pack = self._state_pack.x.array.reshape(-1, width)
        pack[:] = 0.0
        for reg in self._regions:
            pack[reg.points, : reg.state_old.shape[1]] = reg.state_old
        return {"u": self.u_old, "sig": self.sig_old, "eps": self.eps_old, "state": self._state_pack}

    def restore_checkpoint_fields(self):
        """After :func:`ssbx.fem.io.load_checkpoint` filled :meth:`checkpoint_fields`: make the
        loaded state the accepted and current one."""
        width = self._state_pack.x.array.size // self.p.x.array.size
        pack = self._state_pack.x.array.reshape(-1, width)
        for reg in self._regions:
            reg.state_old = pack[reg.points, : len(reg.law.state_names)].copy()
        self.reject()
        self.tangent.x.array[:] = 0.0
        self._update_state()

    # -- post-processing ---------------------------------------------------------------------------
    def state(self, region: str, name: str) -> np.ndarray:
        """Accepted internal variable ``name`` at this rank's quadrature points of ``region``
        ("all" for a single-material solid)."""
        for reg in self._regions:
            if reg.name == region:
                return reg.state_old[:, reg.law.state_names.index(name)].copy()
        raise KeyError(f"no region '{region}'; regions: {[r.name for r in self._regions]}")

    def average(self, field, cells: Sequence[str] = ()) -> float:
        """Volume average (2 pi r weighted in axisymmetry) of a UFL expression or quadrature Function
        over named cell groups (whole mesh if empty), over all ranks."""
        dx = self.dxq(tuple(self.tm.cell_tag(c) for c in cells)) if cells else self.dxq
        num = fem.assemble_scalar(fem.form(field * self._wt * dx))
        den = fem.assemble_scalar(fem.form(self._wt * dx))
        num, den = self.tm.comm.allreduce(np.array([num, den]), op=MPI.SUM)
        return float(num / den)

    def mean_density(self, cells: Sequence[str] = ()) -> float:
        """Volume-averaged relative density (last converged state) over named cell groups."""
        return self.average(self.density_q, cells)

    def quadrature_values(self) -> tuple[np.ndarray, np.ndarray]:
        """(x or r, Mandel stress rows) at this rank's quadrature points."""
        x = fem.Function(self.p.function_space)
        x.interpolate(self._radius_expr)
        return x.x.array.copy(), self.sig.x.array.reshape(-1, 4).copy()

    def plastic_extent(self) -> float:
        """Largest x (r) of a quadrature point that has yielded (nan if none), over all ranks."""
        x = fem.Function(self.p.function_space)
        x.interpolate(self._radius_expr)
        yielded = x.x.array[self.p.x.array > 0]
        local = float(yielded.max()) if len(yielded) else -np.inf
        r = self.tm.comm.allreduce(local, op=MPI.MAX)
        return r if np.isfinite(r) else float("nan")
