#!/usr/bin/env bash
# Create .venv with a Python >= 3.12 and install ssbx (editable) with DOLFINx 0.11 and the test tools.
# Safe to re-run: an existing, working .venv is reused and only the install step is repeated.
set -euo pipefail
cd "$(dirname "$0")/.."

usable() {  # usable PYTHON -> true if it runs and is >= 3.12
    "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
    local c
    for c in "${SSBX_PYTHON:-}" python3.13 python3.12 python3 python; do
        [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && usable "$c" && { command -v "$c"; return; }
    done
    # The wheel needs >= 3.12 but the default python3 on our machines is 3.11: look in pyenv's versions.
    local root="${PYENV_ROOT:-$HOME/.pyenv}"
    command -v pyenv >/dev/null 2>&1 && root="$(pyenv root)"
    for c in $(ls -d "$root"/versions/3.1[2-9]* 2>/dev/null | sort -rV); do
        usable "$c/bin/python3" && { echo "$c/bin/python3"; return; }
    done
    return 1
}

if [ -x .venv/bin/python ] && usable .venv/bin/python; then
    PY=.venv/bin/python
else
    BASE=$(find_python) || {
        echo "ssbx setup: no Python >= 3.12 found (looked at \$SSBX_PYTHON, python3.13, python3.12, python3," >&2
        echo "  and pyenv's versions). Install one, e.g. 'pyenv install 3.12', or set SSBX_PYTHON=/path/to/python3.12." >&2
        exit 1
    }
    echo "ssbx setup: creating .venv with $BASE ($("$BASE" --version))"
    rm -rf .venv
    "$BASE" -m venv .venv
    PY=.venv/bin/python
fi

"$PY" -m pip install --quiet --upgrade pip
"$PY" -m pip install --quiet -e ".[dev]"
# Compile a trivial form once so the first test does not pay FFCx's JIT start-up and so a broken
# install fails here, with a clear message, rather than in the middle of the test suite.
"$PY" -m ssbx.studies.cli info
echo "ssbx setup: done. Activate with 'source .venv/bin/activate'."
