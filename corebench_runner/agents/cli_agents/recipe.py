"""An agent recipe: how to install an agent CLI, how to invoke it, and how to read its transcript.

A recipe is a small TOML file. The bundled ones (claude-code, codex, opencode) live in
corebench_runner/data/agents/; the `command` scaffold reads any other from a file. Fields:

    name        the agent's name, e.g. "codex"
    package     npm package holding the NATIVE binary, e.g. "@openai/codex"
    version     default version; $COREBENCH_<NAME>_VERSION overrides it (e.g. COREBENCH_CODEX_VERSION)
    spec        npm spec to fetch, "{package}@{version}" by default (Codex's platform build is a
                version tag: "{package}@{version}-linux-x64")
    files       paths inside the package (under package/) to install; the first is the binary
    command     the name the binary is installed as, in /usr/local/bin
    run_script  the script that runs the agent once in the container (a file next to the recipe)
    transcript  how its stdout is read: "claude-code", "codex", "opencode" or "lines"
    api         the model API it speaks: "anthropic" or "openai"
    root_ok     false when the agent refuses to run as root (it then runs as the `agent` user)
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from corebench_runner.errors import UserError

BUNDLED = ("claude-code", "codex", "opencode")
TRANSCRIPTS = ("claude-code", "codex", "opencode", "lines")
APIS = ("anthropic", "openai")
_VERSION = re.compile(r"[0-9][0-9A-Za-z.+-]*")


@dataclass(frozen=True)
class AgentRecipe:
    name: str
    package: str
    version: str
    files: tuple[str, ...]
    command: str
    run_script: bytes
    run_script_name: str
    transcript: str = "lines"
    api: str = "anthropic"
    spec: str = "{package}@{version}"
    root_ok: bool = True
    source: str = ""  # where the recipe was read from, for messages

    @property
    def npm_spec(self) -> str:
        return self.spec.format(package=self.package, version=self.version)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def version_env(self) -> str:
        return "COREBENCH_" + re.sub(r"[^A-Z0-9]", "_", self.name.upper()) + "_VERSION"


def bundled_recipe(name: str) -> AgentRecipe:
    if name not in BUNDLED:
        raise UserError(f"no bundled agent named {name!r}; choose one of {', '.join(BUNDLED)}")
    folder = resources.files("corebench_runner") / "data" / "agents"
    return _parse((folder / f"{name}.toml").read_text(), lambda file: (folder / file).read_bytes(),
                  f"the bundled {name} recipe")


def load_recipe(path: Path) -> AgentRecipe:
    """A recipe file; any mistake in it is a UserError naming the file and the field."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UserError(f"cannot read the agent recipe {path}: {exc.strerror}") from None

    def read(file: str) -> bytes:
        try:
            return (path.parent / file).read_bytes()
        except OSError:
            raise UserError(f"{path}: run_script {file!r} is not a file next to the recipe") from None

    return _parse(text, read, str(path))


def _parse(text: str, read, source: str) -> AgentRecipe:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{source} is not valid TOML: {exc}") from None
    except RecursionError:
        raise UserError(f"{source}: arrays or tables nested too deep to read; flatten them") from None
    missing = [key for key in ("name", "package", "version", "files", "command", "run_script") if not doc.get(key)]
    if missing:
        raise UserError(f"{source} lacks {', '.join(missing)}; see docs/scaffolds.md for a recipe's fields")
    files = doc["files"]
    if not isinstance(files, list) or not all(isinstance(f, str) and f and ".." not in f.split("/") for f in files):
        raise UserError(f"{source}: files must be a list of paths inside the npm package, e.g. [\"bin/tool\"]")
    if doc.get("transcript", "lines") not in TRANSCRIPTS:
        raise UserError(f"{source}: transcript must be one of {', '.join(TRANSCRIPTS)}")
    if doc.get("api", "anthropic") not in APIS:
        raise UserError(f"{source}: api must be one of {', '.join(APIS)}")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", str(doc["command"])):
        raise UserError(f"{source}: command must be a plain program name such as \"tool\"")
    recipe = AgentRecipe(name=str(doc["name"]), package=str(doc["package"]), version=str(doc["version"]),
                         files=tuple(files), command=str(doc["command"]), run_script=read(str(doc["run_script"])),
                         run_script_name=str(doc["run_script"]), transcript=doc.get("transcript", "lines"),
                         api=doc.get("api", "anthropic"), spec=str(doc.get("spec", "{package}@{version}")),
                         root_ok=bool(doc.get("root_ok", True)), source=source)
    chosen = os.environ.get(recipe.version_env, "").strip()
    if chosen:
        recipe = with_version(recipe, chosen, f"${recipe.version_env}")
    return recipe


def with_version(recipe: AgentRecipe, version: str, where: str = "the version") -> AgentRecipe:
    if not _VERSION.fullmatch(version):
        raise UserError(f"{where}: {version!r} is not a version number; use e.g. {recipe.version}")
    from dataclasses import replace

    return replace(recipe, version=version)
