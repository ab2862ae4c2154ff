"""Unit-bearing inputs: ``"10 MPa"``, ``"25 um"``, ``"0.2 mA/cm^2"`` -> SI floats.

Units exist only at the input boundary; everything inside ssbx is SI. A bare number is taken as SI.
Each quantity is checked against the dimension the field expects, so ``li_thickness = "10 MPa"``
fails with a message naming the field.
"""

from __future__ import annotations

import functools

import numpy as np

#: expected dimension of each kind of input -> the SI unit it is converted to
SI_UNITS = {
    "length": "m",
    "area": "m^2",
    "mass": "kg",
    "time": "s",
    "temperature": "K",
    "pressure": "Pa",
    "density": "kg/m^3",
    "current_density": "A/m^2",
    "areal_capacity": "C/m^2",
    "conductivity": "S/m",
    "area_specific_resistance": "ohm*m^2",
    "diffusivity": "m^2/s",
    "cahn_hilliard_mobility": "m^5/(J*s)",
    "voltage": "V",
    "energy_per_mol": "J/mol",
    "concentration": "mol/m^3",
    "molar_volume": "m^3/mol",
    "strain_rate": "1/s",
    "velocity": "m/s",
    "specific_area": "1/m",
    "dimensionless": "",
}


class UnitError(ValueError):
    """An input value has the wrong form or dimension; the message names the field."""


@functools.cache
def _registry():
    import pint

    ureg = pint.UnitRegistry()
    ureg.define("um = micrometer")  # ASCII spelling used in configs
    return ureg


def to_si(value, kind: str, field: str = "value") -> float:
    """Convert ``value`` (number or string with units) to a float in the SI unit of ``kind``."""
    if kind not in SI_UNITS:
        raise UnitError(f"{field}: unknown quantity kind {kind!r}")
    if isinstance(value, bool):
        raise UnitError(f"{field}: expected a {kind}, got a boolean")
    if isinstance(value, (int, float, np.floating, np.integer)):
        out = float(value)
    elif isinstance(value, str):
        ureg = _registry()
        text = value.strip().replace("µ", "u").replace("μ", "u")
        try:
            q = ureg.Quantity(text)
        except Exception as e:  # pint raises several types for bad strings
            raise UnitError(f"{field}: cannot read {value!r} as a {kind} ({e})") from None
        target = SI_UNITS[kind]
        try:
            out = float(q.to(target).magnitude) if target else float(q.to("dimensionless").magnitude)
        except Exception:
            raise UnitError(
                f"{field}: {value!r} is not a {kind} (expected units convertible to "
                f"{target or 'a pure number'})"
            ) from None
    else:
        raise UnitError(f"{field}: expected a number or a string with units, got {type(value).__name__}")
    if not np.isfinite(out):
        raise UnitError(f"{field}: {value!r} is not finite")
    return out
