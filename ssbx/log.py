"""Rank-aware logging: only rank 0 of a communicator speaks, so 2 or 200 ranks print one log."""

from __future__ import annotations

import logging
import sys

from mpi4py import MPI


class _RankZero(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return MPI.COMM_WORLD.rank == 0 or getattr(record, "all_ranks", False)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


def configure(level: int = logging.INFO) -> None:
    """Log to stderr from world rank 0 only (call once, from the CLI or a script)."""
    root = logging.getLogger("ssbx")
    if any(isinstance(f, _RankZero) for h in root.handlers for f in h.filters):
        root.setLevel(level)
        return
    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
    h.addFilter(_RankZero())
    root.addHandler(h)
    root.setLevel(level)
