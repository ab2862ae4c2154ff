"""Printing and saving benchmark rows (rank 0 only), shared by the benchmark scripts."""

from pathlib import Path

from ssbx.fem.io import write_csv_atomic


def print_row(comm, row: dict) -> None:
    if comm.rank == 0:
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)


def save_rows(comm, name: str, rows: list[dict]) -> None:
    if comm.rank == 0:
        out = Path(__file__).parent / "results"
        out.mkdir(exist_ok=True)
        write_csv_atomic(out / f"{name}_np{comm.size}.csv", rows)
