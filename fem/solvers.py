"""PETSc solver presets. Problems take a preset name plus user overrides, merged here.

Presets are plain PETSc option dictionaries applied under each problem's own options prefix, so a
user can still change anything from the command line (``-elastic_ksp_type cg``) or a config.
No hypre in the PyPI wheel: iterative presets use GAMG.
"""

from __future__ import annotations

PRESETS: dict[str, dict] = {
    # Sparse direct LU (MUMPS): robust default for 2D/axisymmetric problems up to ~1e6 dofs.
    "direct": {
        "ksp_type": "preonly",
        "pc_type": "lu",
        "pc_factor_mat_solver_type": "mumps",
        "mat_mumps_icntl_14": 100,  # extra work space for delayed pivots (see keep_factor_options)
        "ksp_error_if_not_converged": True,
    },
    # CG + smoothed-aggregation AMG for SPD elasticity/diffusion (needs the near-null space set).
    "cg_gamg": {
        "ksp_type": "cg",
        "ksp_rtol": 1e-10,
        "ksp_atol": 1e-14,
        "pc_type": "gamg",
        "pc_gamg_coarse_eq_limit": 1000,
        "mg_levels_ksp_type": "chebyshev",
        "mg_levels_pc_type": "jacobi",
        "ksp_error_if_not_converged": True,
    },
    # Newton with backtracking line search over a direct solve, for the nonlinear problems.
    "newton_direct": {
        "snes_type": "newtonls",
        "snes_linesearch_type": "bt",
        "snes_rtol": 1e-9,
        "snes_atol": 1e-10,
        "snes_max_it": 30,
        "ksp_type": "preonly",
        "pc_type": "lu",
        "pc_factor_mat_solver_type": "mumps",
        "mat_mumps_icntl_14": 100,
    },
}


def solver_options(preset: str, overrides: dict | None = None) -> dict:
    """Copy of a preset with ``overrides`` applied (a value of None removes an option)."""
    if preset not in PRESETS:
        raise ValueError(f"solver preset {preset!r} unknown; known presets: {sorted(PRESETS)}")
    opts = dict(PRESETS[preset])
    for k, v in (overrides or {}).items():
        if v is None:
            opts.pop(k, None)
        else:
            opts[k] = v
    return opts


def keep_factor_options(prefix: str, opts: dict) -> None:
    """Leave the ``mat_mumps_*`` options of a problem in PETSc's options database.

    DOLFINx problems delete their options right after ``setFromOptions``, but MUMPS reads its
    options later, when the factor matrix is created at the first solve."""
    from petsc4py import PETSc

    db = PETSc.Options()
    for key, value in opts.items():
        if key.startswith("mat_mumps_"):
            db[f"{prefix}{key}"] = value


def release(problem) -> None:
    """Destroy the PETSc objects of a ``dolfinx.fem.petsc.NonlinearProblem`` now. Call it on every
    rank at the same point. Otherwise the objects go when the Python object is collected: a
    NonlinearProblem sits in a reference cycle with its SNES callbacks, so that happens when each
    rank's garbage collector happens to run, and the collective destroy then deadlocks. (Its own
    ``__del__`` later destroys the emptied handles again, which is a no-op.)"""
    for name in ("_snes", "_A", "_b", "_x", "_P_mat"):
        obj = getattr(problem, name, None)
        if obj is not None:
            obj.destroy()
