"""Available studies. Each study module provides ``Config`` (a dataclass), ``DESCRIPTION`` and
``run(config, comm, out) -> dict`` of scalar results; modules are imported only when used."""

from __future__ import annotations

import importlib
from types import ModuleType

from ssbx.studies.config import ConfigError

STUDIES: dict[str, str] = {
    "cell_assembly": "ssbx.studies.cell_assembly",
    "cell_elastic": "ssbx.studies.cell_elastic",
    "dendrite_pressure": "ssbx.studies.dendrite_pressure",
    "li_extrusion": "ssbx.studies.li_extrusion",
    "mixed_conduction": "ssbx.studies.mixed_conduction",
    "se_leakage": "ssbx.studies.se_leakage",
    "stripping_voids": "ssbx.studies.stripping_voids",
}


def load_study(name: str) -> ModuleType:
    if name not in STUDIES:
        raise ConfigError(f"study: unknown study {name!r}; available: {sorted(STUDIES)}")
    return importlib.import_module(STUDIES[name])
