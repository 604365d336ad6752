"""The rule packs shipped with ceasefire-watch, read as package data."""

from __future__ import annotations

from importlib import resources

_SUFFIX = ".yaml"


def bundled_pack_names() -> list[str]:
    """Names usable in config ``rules: {packs: [...]}``, e.g. ["ceasefire"]."""
    files = resources.files(__name__).iterdir()
    return sorted(f.name[: -len(_SUFFIX)] for f in files if f.name.endswith(_SUFFIX))


def read_bundled(name: str) -> tuple[str, str]:
    """(yaml text, source name) of a bundled pack; KeyError names the known packs."""
    known = bundled_pack_names()
    if name not in known:
        raise KeyError(f"unknown rule pack {name!r}; bundled packs: {', '.join(known)}")
    text = resources.files(__name__).joinpath(name + _SUFFIX).read_text(encoding="utf-8")
    return text, f"rules/packs/{name}{_SUFFIX}"
