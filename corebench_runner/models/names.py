"""The one name a model goes by on every surface (site, CLI, review, exports), never a local path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# A scripted folder's session for every capsule without its own file (its name says nothing: the folder's does).
DEFAULT_SESSION = "default.json"


def display_name(spec: str | None) -> str:
    """The one name a model goes by on every surface (site, CLI, review, exports): the model id as given
    (anthropic:claude-opus-5-5), or for a scripted session its file's or folder's name, never its path
    (scripted:/home/me/sessions/sonnet/ -> scripted:sonnet). Applying it twice changes nothing."""
    if not spec:
        return spec or ""
    provider, _, rest = spec.partition(":")
    if provider != "scripted" or not rest:
        return spec
    path = Path(rest.rstrip("/\\") or "session")
    name = path.name.removesuffix(".json")
    if name == DEFAULT_SESSION.removesuffix(".json") and path.parent.name:
        name = path.parent.name  # a folder's default.json says nothing; its folder does
    return f"scripted:{name}"


def public_config(config: dict[str, Any]) -> dict[str, Any]:
    """A run's recorded config with its model by display name, for what leaves the machine (exports)."""
    options = config.get("options")
    if not isinstance(options, dict) or not isinstance(options.get("model"), str):
        return config
    return {**config, "options": {**options, "model": display_name(options["model"])}}
