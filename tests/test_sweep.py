"""Sweep machinery under MPI (the sweeps themselves run in subprocesses: test_cli)."""

import time

from mpi4py import MPI

from ssbx.studies.sweep import wait_idle


def test_a_finished_sweep_group_waits_asleep():
    """wait_idle returns once every rank has arrived, without spinning: on 2 ranks rank 0 waits
    ~1 s for rank 1 and uses little CPU meanwhile (a blocking MPI_Barrier busy-polls a core)."""
    comm = MPI.COMM_WORLD
    if comm.rank == comm.size - 1:
        time.sleep(1.0)
    wall, cpu = time.perf_counter(), time.process_time()
    wait_idle(comm, interval=0.05)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if comm.size > 1 and comm.rank == 0:
        assert wall > 0.8 and cpu < 0.25 * wall, (wall, cpu)
