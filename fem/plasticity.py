"""Small-strain J2 (von Mises) elastoplasticity with linear isotropic hardening, return mapping at
quadrature points: the solid model for PTFE (and the SS rods' elastic limit) in cell assembly.

Plane strain and axisymmetric. Stresses and strains are Mandel vectors (normal components, then
sqrt(2) x shear) so that sigma:eps is a dot product and the tangent a symmetric 4x4 matrix:
plane (xx, yy, zz, xy), axisymmetric (rr, zz, tt, rz). State (stress, equivalent plastic strain,
consistent tangent) lives in quadrature spaces; each Newton iteration interpolates the strain
increment at the quadrature points, runs the radial return in numpy and assembles the residual
and the consistent tangent (Simo & Hughes, Computational Inelasticity, box 3.2):

    C_ep = K m m^T + 2G theta P_dev - 2G theta_bar n n^T,
    theta = 1 - 3G dp / q_trial,  theta_bar = 3G / (3G + H) - (1 - theta).

Newton converges quadratically once the plastic zone has settled (tests check B4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mpi4py import MPI
from petsc4py import PETSc

import basix.ufl
import numpy as np
import ufl
from dolfinx import default_scalar_type, fem
from dolfinx.fem.petsc import apply_lifting, assemble_matrix, assemble_vector, set_bc
from ssbx.fem import kinematics
from ssbx.fem.boundary import FixedComponent, NormalPressure, measure
from ssbx.fem.solvers import solver_options
from ssbx.geometries.tagged_mesh import TaggedMesh

M = np.array([1.0, 1.0, 1.0, 0.0])
P_DEV = np.eye(4) - np.outer(M, M) / 3.0
SQ2 = np.sqrt(2.0)


class PlasticityDivergedError(RuntimeError):
    """The elastoplastic Newton iteration did not converge."""


@dataclass(frozen=True)
class J2Material:
    youngs_modulus: float
    poisson_ratio: float
    yield_stress: float
    hardening: float = 0.0  # H = d sigma_y / d p (Pa)

    def __post_init__(self):
        if not (self.youngs_modulus > 0 and -1 < self.poisson_ratio < 0.5):
            raise ValueError("J2Material: youngs_modulus must be positive and poisson_ratio in (-1, 0.5)")
        if not (self.yield_stress > 0 and self.hardening >= 0):
            raise ValueError("J2Material: yield_stress must be positive and hardening >= 0")

    @property
    def shear(self) -> float:
        return self.youngs_modulus / (2 * (1 + self.poisson_ratio))

    @property
    def bulk(self) -> float:
        return self.youngs_modulus / (3 * (1 - 2 * self.poisson_ratio))

    def elastic_matrix(self) -> np.ndarray:
        return 2 * self.shear * P_DEV + self.bulk * np.outer(M, M)


def return_mapping(mat: J2Material, sig_old: np.ndarray, p_old: np.ndarray, deps: np.ndarray):
    """Radial return for rows of Mandel vectors: (stress, plastic strain, tangents (n, 4, 4))."""
    C = mat.elastic_matrix()
    G, H = mat.shear, mat.hardening
    trial = sig_old + deps @ C
    s = trial @ P_DEV
    q = np.sqrt(1.5 * np.einsum("ij,ij->i", s, s))
    f = q - (mat.yield_stress + H * p_old)
    plastic = f > 0
    dp = np.where(plastic, f / (3 * G + H), 0.0)
    qs = np.where(plastic, q, 1.0)
    factor = np.where(plastic, 3 * G * dp / qs, 0.0)
    sig = trial - factor[:, None] * s
    tangent = np.broadcast_to(C, (len(q), 4, 4)).copy()
    if np.any(plastic):
        n = s[plastic] / np.linalg.norm(s[plastic], axis=1)[:, None]
        theta = 1 - factor[plastic]
        theta_bar = 3 * G / (3 * G + H) - factor[plastic]
        tangent[plastic] = (mat.bulk * np.outer(M, M)[None] + 2 * G * theta[:, None, None] * P_DEV[None]
                            - 2 * G * theta_bar[:, None, None] * np.einsum("ni,nj->nij", n, n))
    return sig, p_old + dp, tangent


def mandel_strain(u, kind: str, mesh):
    e = kinematics.strain(u, kind, mesh)
    if kind == kinematics.PLANE:
        return ufl.as_vector([e[0, 0], e[1, 1], e[2, 2], SQ2 * e[0, 1]])
    if kind == kinematics.AXISYMMETRIC:
        return ufl.as_vector([e[0, 0], e[2, 2], e[1, 1], SQ2 * e[0, 2]])
    raise ValueError("J2 plasticity: plane or axisymmetric meshes only")


def mandel_to_tensor(v, kind: str):
    """3x3 tensor (in kinematics ordering) from a Mandel vector."""
    if kind == kinematics.PLANE:
        return ufl.as_tensor([[v[0], v[3] / SQ2, 0], [v[3] / SQ2, v[1], 0], [0, 0, v[2]]])
    return ufl.as_tensor([[v[0], 0, v[3] / SQ2], [0, v[2], 0], [v[3] / SQ2, 0, v[1]]])


class ElastoplasticSolid:
    """One body, small strains, J2 with hardening; load by changing the pressure Constants and
    calling :meth:`step` (one load increment, Newton to convergence)."""

    def __init__(self, tm: TaggedMesh, material: J2Material, *, fixed: Sequence[FixedComponent] = (),
                 pressures: Sequence[NormalPressure] = (), degree: int = 2, quadrature_degree: int = 2,
                 rtol: float = 1e-8, max_it: int = 30, solver: str = "direct", prefix: str = "j2_"):
        msh = tm.mesh
        self.tm, self.mat, self.kind = tm, material, tm.kind
        gdim = msh.geometry.dim
        self.V = fem.functionspace(msh, ("Lagrange", degree, (gdim,)))
        self.u = fem.Function(self.V, name="displacement")
        self.du = fem.Function(self.V)
        cell = msh.basix_cell()
        Qv = fem.functionspace(msh, basix.ufl.quadrature_element(cell, value_shape=(4,), degree=quadrature_degree))
        Qs = fem.functionspace(msh, basix.ufl.quadrature_element(cell, value_shape=(), degree=quadrature_degree))
        Qt = fem.functionspace(msh, basix.ufl.quadrature_element(cell, value_shape=(4, 4), degree=quadrature_degree))
        self.sig, self.sig_old = fem.Function(Qv, name="stress"), fem.Function(Qv)
        self.p, self.p_old = fem.Function(Qs, name="plastic_strain"), fem.Function(Qs)
        self.tangent = fem.Function(Qt)
        self.tangent.x.array[:] = np.tile(material.elastic_matrix().ravel(), len(self.tangent.x.array) // 16)
        self.deps = fem.Function(Qv)
        dx = ufl.Measure("dx", domain=msh, metadata={"quadrature_degree": quadrature_degree,
                                                     "quadrature_rule": "default"})
        wt = kinematics.volume_weight(msh, self.kind)
        v, w = ufl.TestFunction(self.V), ufl.TrialFunction(self.V)
        ev = mandel_strain(v, self.kind, msh)
        self._residual = ufl.inner(self.sig, ev) * wt * dx
        n = ufl.FacetNormal(msh)
        for load in pressures:
            self._residual += load.pressure * ufl.inner(n, v) * wt * measure(tm, facets=load.facets)
        self._jacobian = ufl.inner(ufl.dot(self.tangent, mandel_strain(w, self.kind, msh)), ev) * wt * dx
        self.F, self.J = fem.form(self._residual), fem.form(self._jacobian)
        self._strain_expr = fem.Expression(mandel_strain(self.u, self.kind, msh), Qv.element.interpolation_points)
        self._radius_expr = fem.Expression(ufl.SpatialCoordinate(msh)[0], Qs.element.interpolation_points)
        self.eps_old = fem.Function(Qv)
        fdim = msh.topology.dim - 1
        self.bcs = []
        for b in fixed:
            sub = self.V.sub(b.component)
            dofs = fem.locate_dofs_topological(sub, fdim, np.concatenate([tm.facets(f) for f in b.facets]))
            self.bcs.append(fem.dirichletbc(default_scalar_type(b.value), dofs, sub))
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
        self._eps = fem.Function(Qv)

    def _update_state(self):
        """Stress, plastic strain and tangent from the total strain of the current u."""
        self._eps.interpolate(self._strain_expr)
        deps = (self._eps.x.array - self.eps_old.x.array).reshape(-1, 4)
        sig, p, tan = return_mapping(self.mat, self.sig_old.x.array.reshape(-1, 4), self.p_old.x.array, deps)
        self.sig.x.array[:] = sig.ravel()
        self.p.x.array[:] = p
        self.tangent.x.array[:] = tan.ravel()

    def _assemble_residual(self):
        with self.b.localForm() as loc:
            loc.set(0.0)
        assemble_vector(self.b, self.F)
        apply_lifting(self.b, [self.J], [self.bcs], x0=[self.u.x.petsc_vec], alpha=-1.0)
        self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        set_bc(self.b, self.bcs, self.u.x.petsc_vec, -1.0)
        return self.b.norm()

    def step(self) -> int:
        """Newton for the current loads from the last accepted state; accepts it. Returns its."""
        for bc in self.bcs:
            bc.set(self.u.x.array)
        self.u.x.scatter_forward()
        self._update_state()
        r0 = None
        for it in range(1, self.max_it + 1):
            self.A.zeroEntries()
            assemble_matrix(self.A, self.J, bcs=self.bcs)
            self.A.assemble()
            norm = self._assemble_residual()
            r0 = norm if r0 is None else r0
            # relative to the increment's first residual; 1e-8 sits above the round-off floor of
            # stiff (nearly incompressible) bodies
            if norm <= self.rtol * max(r0, 1e-300) and it > 1:
                break
            self.ksp.solve(self.b, self.du.x.petsc_vec)
            self.du.x.scatter_forward()
            self.u.x.array[:] -= self.du.x.array
            self._update_state()
        else:
            raise PlasticityDivergedError(f"J2 plasticity: Newton did not converge in {self.max_it} iterations")
        self.sig_old.x.array[:] = self.sig.x.array
        self.p_old.x.array[:] = self.p.x.array
        self.eps_old.x.array[:] = self._eps.x.array
        return it

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
