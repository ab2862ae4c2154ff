"""Linear elasticity of several bodies that may slide on each other (frictionless, bilateral).

Why several displacement fields on one mesh: the cell is one conforming Gmsh mesh, but the PTFE
tube must not drag the stack axially (frictionless wall) while it does resist its radial
expansion. Each *part* (a set of bonded bodies) owns a displacement field defined on the whole
mesh and held at zero outside the part's cells; across a sliding interface the normal components
of two parts are tied by a penalty and the tangential components are free. On a conforming
interface this is exact up to the penalty error O(E/(gamma E/h)) = O(h/gamma), with no contact
search. Large sliding with opening gaps (cell assembly, issue M2) needs real contact; this class
is the small-strain, closed-interface building block.

Units: Pa, m. Forms are written once with the 3x3 strains of :mod:`ssbx.fem.kinematics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import ufl
from dolfinx import default_scalar_type, fem, la
from dolfinx.fem.petsc import LinearProblem
from ssbx.fem import kinematics
from ssbx.fem.boundary import FixedComponent, NormalPressure, integrate
from ssbx.fem.materials import Material
from ssbx.fem.solvers import solver_options
from ssbx.geometries.tagged_mesh import TaggedMesh


@dataclass(frozen=True)
class IsotropicElastic:
    """Hooke's law, sigma = lambda tr(eps) I + 2 mu eps (E in Pa)."""

    youngs_modulus: float
    poisson_ratio: float

    def __post_init__(self):
        if self.youngs_modulus <= 0:
            raise ValueError(f"youngs_modulus must be positive, got {self.youngs_modulus}")
        if not -1 < self.poisson_ratio < 0.5:
            raise ValueError(f"poisson_ratio must lie in (-1, 0.5), got {self.poisson_ratio}")

    @classmethod
    def from_material(cls, m: Material) -> IsotropicElastic:
        m.require("youngs_modulus", "poisson_ratio")
        return cls(m.youngs_modulus, m.poisson_ratio)

    @property
    def mu(self) -> float:
        return self.youngs_modulus / (2 * (1 + self.poisson_ratio))

    @property
    def lmbda(self) -> float:
        E, nu = self.youngs_modulus, self.poisson_ratio
        return E * nu / ((1 + nu) * (1 - 2 * nu))

    @property
    def constrained_modulus(self) -> float:
        """Oedometric (P-wave) modulus E(1-nu)/((1+nu)(1-2nu)): axial stiffness when laterally confined."""
        return self.lmbda + 2 * self.mu


def stress(eps, lmbda, mu):
    return lmbda * ufl.tr(eps) * ufl.Identity(3) + 2 * mu * eps


def cellwise(tm: TaggedMesh, values: dict[str, float], name: str, default: float = 0.0) -> fem.Function:
    """A DG0 field holding one value per cell group (owned and ghost cells)."""
    f = fem.Function(fem.functionspace(tm.mesh, ("DG", 0)), name=name)
    f.x.array[:] = default
    for group, v in values.items():
        f.x.array[tm.cells(group)] = v
    return f


@dataclass(frozen=True)
class Part:
    """Bodies (cell groups) bonded together and sharing one displacement field."""

    name: str
    bodies: tuple[str, ...]


@dataclass
class MultiBodyElasticity:
    """Linear elastic parts, bonded inside, sliding (frictionless, closed) on each other.

    Parameters
    ----------
    tm: the tagged mesh; ``materials`` maps each body (cell group) to its elastic law.
    parts: the bonded groups of bodies; cells in no part carry no stiffness and no unknowns.
    sliding: facet groups on which two parts are tied in the normal direction only.
    penalty: dimensionless penalty gamma; the interface stiffness is gamma * E_max / h.
    """

    tm: TaggedMesh
    materials: dict[str, IsotropicElastic]
    parts: Sequence[Part]
    fixed: Sequence[FixedComponent] = ()
    loads: Sequence[NormalPressure] = ()
    sliding: Sequence[str] = ()
    degree: int = 2
    penalty: float = 1e3
    petsc_options: dict = field(default_factory=dict)
    prefix: str = "elastic_"

    def __post_init__(self):
        tm, kind = self.tm, self.tm.kind
        used = [b for p in self.parts for b in p.bodies]
        tm.require(cells=used, facets=[f for bc in self.fixed for f in bc.facets]
                   + [f for ld in self.loads for f in ld.facets] + list(self.sliding))
        if len(set(used)) != len(used):
            raise ValueError("a body appears in more than one part")
        missing = [b for b in used if b not in self.materials]
        if missing:
            raise ValueError(f"no elastic law for bodies {missing}")
        msh = tm.mesh
        gdim = msh.geometry.dim
        self.gdim, self.nparts = gdim, len(self.parts)
        self.V = fem.functionspace(msh, ("Lagrange", self.degree, (self.nparts * gdim,)))
        self.u = fem.Function(self.V, name="u_parts")
        self.lmbda = cellwise(tm, {b: m.lmbda for b, m in self.materials.items()}, "lambda")
        self.mu = cellwise(tm, {b: m.mu for b, m in self.materials.items()}, "mu")
        self.indicator = [cellwise(tm, dict.fromkeys(p.bodies, 1.0), f"in_{p.name}") for p in self.parts]
        self.part_cells = [np.unique(np.concatenate([tm.cells(b) for b in p.bodies])) for p in self.parts]

        du, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        w = kinematics.volume_weight(msh, kind)
        dx = ufl.Measure("dx", domain=msh, subdomain_data=tm.cell_tags)
        ds = ufl.Measure("ds", domain=msh, subdomain_data=tm.facet_tags)
        dS = ufl.Measure("dS", domain=msh, subdomain_data=tm.facet_tags)
        a = 0
        for i, p in enumerate(self.parts):
            ea = kinematics.strain(self.block(du, i), kind, msh)
            eb = kinematics.strain(self.block(v, i), kind, msh)
            tags = tuple(tm.cell_tag(b) for b in p.bodies)
            a += ufl.inner(stress(ea, self.lmbda, self.mu), eb) * w * dx(tags)
        idle = [t for g, t in tm.cell_groups.items() if g not in used]
        if idle:
            # Dofs of cells in no part are fixed to zero; a zero-weighted term puts them in the
            # sparsity pattern so the Dirichlet diagonal can be inserted (else the matrix is singular).
            zero = fem.Constant(msh, default_scalar_type(0.0))
            a += zero * ufl.inner(du, v) * dx(tuple(idle))
        if self.sliding:
            # n('+') of a facet: the sign is irrelevant in the squared jump of normal displacement.
            n = ufl.FacetNormal(msh)("+")
            h = ufl.avg(ufl.CellDiameter(msh))
            e_max = max(m.youngs_modulus for m in self.materials.values())
            k = self.penalty * e_max / h
            wi = ufl.avg(w) if kind == kinematics.AXISYMMETRIC else 1.0
            ju = self._normal_jump(du, n)
            jv = self._normal_jump(v, n)
            a += k * ju * jv * wi * dS(tm.facet_tags_of(self.sliding))
        L = ufl.ZeroBaseForm((v,))
        for load in self.loads:
            n = ufl.FacetNormal(msh)
            for i, _ in enumerate(self.parts):
                # The indicator keeps a load on the part that owns the loaded face.
                L += -load.pressure * self.indicator[i] * ufl.dot(n, self.block(v, i)) * w * ds(
                    tm.facet_tags_of(load.facets))
        self.a, self.L = a, L
        self.bcs = self._dirichlet()
        opts = solver_options("direct", self.petsc_options)
        self.problem = LinearProblem(a, L, bcs=self.bcs, u=self.u, petsc_options_prefix=self.prefix,
                                     petsc_options=opts)

    # -- helpers ------------------------------------------------------------------------------
    def block(self, w, i: int):
        """Displacement (vector of length gdim) of part ``i`` out of the stacked field."""
        return ufl.as_vector([w[i * self.gdim + j] for j in range(self.gdim)])

    def _normal_jump(self, w, n):
        """Normal displacement of the two parts meeting at a sliding facet, differenced. Both
        parts' fields are continuous, so '+' and '-' agree; only one part is active on each side,
        the indicators pick which part is 'first'."""
        terms = []
        for i in range(self.nparts):
            chi = self.indicator[i]
            # +1 for the part on the '+' side, -1 for the part on the '-' side
            sgn = chi("+") - chi("-")
            terms.append(sgn * ufl.dot(self.block(w, i)("+"), n))
        return sum(terms)

    def _dirichlet(self) -> list[fem.DirichletBC]:
        tm, V, gdim = self.tm, self.V, self.gdim
        tdim = tm.mesh.topology.dim
        cmap = tm.mesh.topology.index_map(tdim)
        all_cells = np.arange(cmap.size_local + cmap.num_ghosts, dtype=np.int32)
        # Mark the dofs of each part's cells; a reverse/forward scatter makes the marking agree on
        # every rank even where a part's cell is not ghosted on a rank that holds the dof.
        marker = la.vector(V.dofmap.index_map, V.dofmap.index_map_bs)
        marker.array[:] = 0
        for i in range(self.nparts):
            for j in range(gdim):
                marker.array[fem.locate_dofs_topological(V.sub(i * gdim + j), tdim, self.part_cells[i])] = 1
        marker.scatter_reverse(la.InsertMode.add)
        marker.scatter_forward()
        bcs = []
        f2c = tm.mesh.topology.connectivity(tdim - 1, tdim)
        for i in range(self.nparts):
            in_part = np.zeros(len(all_cells), dtype=bool)
            in_part[self.part_cells[i]] = True
            for j in range(gdim):
                sub = V.sub(i * gdim + j)
                dofs = fem.locate_dofs_topological(sub, tdim, all_cells)
                inactive = dofs[marker.array[dofs] == 0]
                bcs.append(fem.dirichletbc(default_scalar_type(0), inactive, sub))
            for bc in self.fixed:
                facets = np.concatenate([tm.facets(f) for f in bc.facets])
                # a fixed face constrains the part it bounds, not a neighbour sliding past it
                own = [f for f in facets if in_part[f2c.links(f)].any()]
                own = np.asarray(own, dtype=np.int32)
                sub = V.sub(i * gdim + bc.component)
                bcs.append(fem.dirichletbc(default_scalar_type(bc.value),
                                           fem.locate_dofs_topological(sub, tdim - 1, own), sub))
        return bcs

    def solve(self) -> fem.Function:
        self.problem.solve()
        reason = self.problem.solver.getConvergedReason()
        if reason <= 0:
            raise RuntimeError(f"linear elastic solve failed (KSP reason {reason})")
        return self.u

    # -- post-processing ---------------------------------------------------------------------
    def stress_of_part(self, i: int):
        e = kinematics.strain(self.block(self.u, i), self.tm.kind, self.tm.mesh)
        return stress(e, self.lmbda, self.mu)

    def stress(self):
        """Stress of whichever part owns each cell (zero in cells of no part)."""
        return sum(self.indicator[i] * self.stress_of_part(i) for i in range(self.nparts))

    def strain(self):
        return sum(self.indicator[i] * kinematics.strain(self.block(self.u, i), self.tm.kind, self.tm.mesh)
                   for i in range(self.nparts))

    def displacement(self):
        """Displacement of the part owning each cell (discontinuous across sliding faces)."""
        return sum(self.indicator[i] * self.block(self.u, i) for i in range(self.nparts))

    def integrate(self, expr, cells: Sequence[str] = (), facets: Sequence[str] = ()) -> float:
        """Integral (true volume/area weighting) of ``expr`` over cell groups or exterior facets."""
        return integrate(self.tm, expr, cells, facets)

    def average(self, expr, cells: Sequence[str] = (), facets: Sequence[str] = ()) -> float:
        return self.integrate(expr, cells, facets) / self.integrate(1.0, cells, facets)
