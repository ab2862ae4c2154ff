"""The one compatibility seam: MPI import order for the DOLFINx wheel, and version reporting.

The PyPI wheel ``dolfinx-solver-real`` ships its own MPICH; ``dolfinx_solver`` must be imported
before ``dolfinx``/``petsc4py`` so that libmpi is loaded from the wheel. On a conda-forge or Docker
DOLFINx that module does not exist and ``mpi4py`` alone is enough.
"""

import importlib.metadata

try:  # pragma: no cover - depends on the installation route
    import dolfinx_solver  # noqa: F401

    DOLFINX_ROUTE = "pypi-wheel"
except ImportError:  # conda-forge, Docker or a source build
    DOLFINX_ROUTE = "system"

from mpi4py import MPI  # noqa: E402,F401  (must follow dolfinx_solver)


def dolfinx_versions() -> dict[str, str]:
    """Versions of the FEniCSx stack, PETSc and MPI actually loaded in this process."""
    from petsc4py import PETSc

    import basix
    import dolfinx
    import ffcx
    import ufl

    petsc = ".".join(str(v) for v in PETSc.Sys.getVersion())
    out = {
        "ssbx": _dist_version("ssbx"),
        "dolfinx": dolfinx.__version__,
        "basix": basix.__version__,
        "ffcx": ffcx.__version__,
        "ufl": ufl.__version__,
        "petsc": petsc,
        "mpi": MPI.Get_library_version().splitlines()[0].strip(),
        "dolfinx_route": DOLFINX_ROUTE,
    }
    try:
        import gmsh

        out["gmsh"] = gmsh.__version__
    except ImportError:
        out["gmsh"] = "missing"
    return out


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
