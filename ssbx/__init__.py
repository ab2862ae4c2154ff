"""ssbx: finite-element multiphysics of all-solid-state lithium-metal batteries on DOLFINx.

Subpackages
-----------
ssbx.geometries  parametric Gmsh builders returning meshes with named physical groups (no physics)
ssbx.fem         materials, units, kinematics, forms per physics, solvers, time stepping, I/O
ssbx.studies     one module per study, the runner, sweeps and the ``ssbx`` command line

Importing ``ssbx`` (which every subpackage does first) loads MPI in the order the PyPI
``dolfinx-solver-real`` wheel needs. This is the only place that knows about the wheel.
"""

from ssbx._compat import dolfinx_versions

__version__ = "0.1.0"
__all__ = ["__version__", "dolfinx_versions"]
