import gc
from pathlib import Path

from mpi4py import MPI

import pytest

import ssbx  # noqa: F401


def pytest_runtest_setup(item):
    if item.get_closest_marker("serial") and MPI.COMM_WORLD.size > 1:
        pytest.skip("serial-only test")


def pytest_runtest_teardown(item):
    # Collective destructors (PETSc objects, meshes) must run on every rank at the same point.
    gc.collect()
    MPI.COMM_WORLD.Barrier()


@pytest.fixture
def shared_tmp_path(tmp_path):
    """One temporary folder for all ranks (pytest gives each rank its own)."""
    return Path(MPI.COMM_WORLD.bcast(str(tmp_path), root=0))
