"""Validated study configuration: TOML -> typed dataclasses in SI, with errors naming the field.

A field declares what it holds with :func:`quantity` (a physical quantity, converted from
``"10 MPa"`` strings and bounds-checked) or :func:`choice`. Unknown keys are errors, so a typo in a
config never silently falls back to a default. Everything is checked before any mesh or solve.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import field, fields, is_dataclass
from pathlib import Path

from ssbx.fem.units import UnitError, to_si


class ConfigError(ValueError):
    """Invalid configuration; the message starts with the dotted name of the field."""


_BOUNDS = {
    "positive": (lambda v: v > 0, "must be positive"),
    "nonnegative": (lambda v: v >= 0, "must be >= 0"),
    "fraction": (lambda v: 0 < v < 1, "must lie in (0, 1)"),
    "unit_interval": (lambda v: 0 < v <= 1, "must lie in (0, 1]"),
    "closed_unit_interval": (lambda v: 0 <= v <= 1, "must lie in [0, 1]"),
    None: (lambda v: True, ""),
}


def quantity(default, kind: str, bound: str | None = "positive", doc: str = ""):
    """A physical quantity in SI; configs may give it with units."""
    return field(default=default, metadata={"kind": kind, "bound": bound, "doc": doc})


def choice(default: str, options: tuple[str, ...], doc: str = ""):
    return field(default=default, metadata={"choices": options, "doc": doc})


def quantities(default: tuple, kind: str, bound: str | None = "positive", doc: str = ""):
    """A non-empty list of physical quantities (a sweep axis inside one study), stored as a tuple."""
    return field(default=tuple(default), metadata={"kind": kind, "bound": bound, "doc": doc, "list": True})


def choices(default: tuple, options: tuple[str, ...], doc: str = ""):
    """A non-empty list of options, stored as a tuple."""
    return field(default=tuple(default), metadata={"choices": options, "doc": doc, "list": True})


def load_toml(path: str | Path, _including: tuple[Path, ...] = ()) -> dict:
    """The table of a TOML config. A top-level ``base = "other.toml"`` (relative to this file)
    starts from that config and overrides its keys (tables merged key by key), so that a variant
    states only what it changes and follows its base."""
    path = Path(path)
    if not path.is_file():
        where = f" (the base of {str(_including[-1])!r})" if _including else ""
        raise ConfigError(f"config file {str(path)!r} not found{where}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base: expected the file name of another config, got {base!r}")
    chain = (*_including, path.resolve())
    parent = path.parent / base
    if parent.resolve() in chain:
        raise ConfigError(f"{path}: base: {base!r} leads back to itself "
                          f"({' -> '.join(p.name for p in (*chain, parent.resolve()))})")
    return _merged(load_toml(parent, chain), data)


def _merged(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def parse(cls, data: dict, where: str = ""):
    """Build dataclass ``cls`` from a plain dict (from TOML), converting and checking each field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where.rstrip('.') or 'config'}: expected a table, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    for key in data:
        if key not in names:
            raise ConfigError(f"{where}{key}: unknown key; expected one of {sorted(names)}")
    kwargs = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        kwargs[f.name] = _value(f, hints[f.name], data[f.name], where + f.name)
    try:
        return cls(**kwargs)
    except (ValueError, KeyError) as e:  # cross-field checks in __post_init__
        msg = str(e.args[0]) if e.args else str(e)
        raise ConfigError(msg if where == "" else f"{where.rstrip('.')}: {msg}") from None


def _value(f: dataclasses.Field, typ, raw, path: str):
    md = f.metadata
    if md.get("list"):
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f"{path}: expected a non-empty list, got {raw!r}")
        scalar = dataclasses.field(metadata={k: v for k, v in md.items() if k != "list"})
        return tuple(_value(scalar, None, r, f"{path}[{i}]") for i, r in enumerate(raw))
    if is_dataclass(typ):
        return parse(typ, raw, path + ".")
    if "kind" in md:
        try:
            v = to_si(raw, md["kind"], path)
        except UnitError as e:
            raise ConfigError(str(e)) from None
        ok, text = _BOUNDS[md["bound"]]
        if not ok(v):
            raise ConfigError(f"{path}: {text}, got {raw!r}")
        return v
    if "choices" in md:
        if raw not in md["choices"]:
            raise ConfigError(f"{path}: must be one of {list(md['choices'])}, got {raw!r}")
        return raw
    origin = typing.get_origin(typ) or typ
    if origin is bool:
        if not isinstance(raw, bool):
            raise ConfigError(f"{path}: expected true or false, got {raw!r}")
        return raw
    if origin is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ConfigError(f"{path}: expected an integer, got {raw!r}")
        return raw
    if origin is float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {raw!r}")
        return float(raw)
    if origin is str:
        if not isinstance(raw, str):
            raise ConfigError(f"{path}: expected a string, got {raw!r}")
        return raw
    if origin is dict:
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a table, got {raw!r}")
        return dict(raw)
    return raw


def set_override(data: dict, key: str, value, cls) -> None:
    """Apply ``key=value`` from the command line. ``key`` is a dotted path (``geometry.li_thickness``)
    or a bare field name that is unique among ``cls`` and its nested tables."""
    path = key.split(".") if "." in key else _find(cls, key)
    if path is None:
        raise ConfigError(f"--set {key}: no such field in this study's configuration")
    node = data
    for p in path[:-1]:
        node = node.setdefault(p, {})
    node[path[-1]] = _coerce(value)


def _find(cls, key: str, prefix=()) -> list[str] | None:
    hits = []
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        if f.name == key:
            hits.append([*prefix, key])
        elif is_dataclass(hints[f.name]):
            sub = _find(hints[f.name], key, (*prefix, f.name))
            if sub:
                hits.append(sub)
    if len(hits) > 1:
        raise ConfigError(f"--set {key}: ambiguous, use one of {['.'.join(h) for h in hits]}")
    return hits[0] if hits else None


def _coerce(text):
    """Command-line strings -> TOML-like values (numbers and booleans; strings keep units)."""
    if not isinstance(text, str):
        return text
    low = text.strip().lower()
    if low.startswith("["):  # a TOML array: --set 'snapshot_times=["1 min", "5 min"]'
        try:
            return tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"--set: {text!r} is not a TOML array ({e})") from None
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def resolved(cfg) -> dict:
    """The configuration as resolved (SI floats), for manifests."""
    return dataclasses.asdict(cfg)
