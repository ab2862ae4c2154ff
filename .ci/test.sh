#!/usr/bin/env bash
# Run the whole test suite: serial tests, then the parallel run on 2 MPI ranks.
# Extra arguments go to both pytest invocations (e.g. -x, -k name).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
if [ ! -x "$PY" ]; then
    echo "ssbx tests: no .venv here; run ./.ci/setup.sh first" >&2
    exit 1
fi
export PYVISTA_OFF_SCREEN=true OMP_NUM_THREADS=1

check() {  # pytest exit code 5 = nothing collected: a broken selection, not a pass
    local name=$1 rc=$2
    if [ "$rc" -eq 5 ]; then echo "ssbx tests: $name collected no tests" >&2; return 1; fi
    if [ "$rc" -ne 0 ]; then echo "ssbx tests: $name failed (pytest exit $rc)" >&2; return 1; fi
    echo "ssbx tests: $name passed"
}

"$PY" -m pytest tests -q "$@"
check "serial suite" $? || exit 1
# Every test not marked serial runs again on 2 ranks (distributed meshes, parity checks).
.venv/bin/mpiexec -n 2 "$PY" -m pytest tests -q -m "not serial" "$@"
check "2-rank MPI suite" $? || exit 1
