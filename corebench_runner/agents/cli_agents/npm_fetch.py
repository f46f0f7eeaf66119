"""Fetch an agent's native binary from the npm registry on the host, once per machine.

`npm pack SPEC` downloads the platform package's tarball (no install scripts run, no Node
version matters); the files the recipe names are taken out of it into a cache folder
(`$COREBENCH_AGENT_CACHE`, else the user cache folder's `agents/`), with a manifest holding
each file's SHA-256. The agent layer copies them from there, so an image build needs no network.
A failure raises UserError naming the agent and npm's log.

    python -m corebench_runner.agents.cli_agents.npm_fetch [claude-code codex opencode]   # what setup.sh runs
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from corebench_runner.agents.cli_agents.recipe import BUNDLED, AgentRecipe, bundled_recipe
from corebench_runner.errors import UserError
from corebench_runner.settings import load_settings

MANIFEST = "manifest.json"
NPM_TIMEOUT = 900


@dataclass(frozen=True)
class FetchedAgent:
    """The agent's files on the host, ready to copy into an image."""

    folder: Path  # holds files/ (the package's files, by their path in the package) and manifest.json
    files: dict[str, str]  # path in the package -> SHA-256

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.files, sort_keys=True).encode()).hexdigest()


def cache_root() -> Path:
    return Path(os.environ.get("COREBENCH_AGENT_CACHE") or Path(platformdirs.user_cache_dir("corebench")) / "agents")


def cache_folder(recipe: AgentRecipe) -> Path:
    """One folder per package version and choice of files (two recipes may take different files)."""
    files = hashlib.sha256("\n".join(sorted(recipe.files)).encode()).hexdigest()[:8]
    return cache_root() / (re.sub(r"[^A-Za-z0-9.+-]+", "_", recipe.npm_spec).strip("_") + f"-{files}")


def cached(recipe: AgentRecipe) -> FetchedAgent | None:
    """The cached files of this exact package version, or None when not fetched yet (or incomplete)."""
    folder = cache_folder(recipe)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or sorted(files) != sorted(recipe.files):
        return None
    if not all((folder / "files" / name).is_file() for name in files):
        return None
    return FetchedAgent(folder=folder, files=files)


def fetch(recipe: AgentRecipe) -> FetchedAgent:
    """The agent's files, from the cache or fetched now (one process at a time per package)."""
    found = cached(recipe)
    if found:
        return found
    folder = cache_folder(recipe)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel tasks wait for one download
        found = cached(recipe)
        if found:
            return found
        return _download(recipe, folder)


def _download(recipe: AgentRecipe, folder: Path) -> FetchedAgent:
    npm = shutil.which("npm")
    if npm is None:
        raise UserError(f"cannot install the {recipe.name} agent: npm is not installed on this machine; "
                        "run `apt-get install npm` (scripts/setup.sh does)")
    log = folder.parent / f"{folder.name}.npm.log"
    with tempfile.TemporaryDirectory(prefix="corebench-npm-", dir=folder.parent) as tmp:
        command = [npm, "pack", recipe.npm_spec, "--pack-destination", tmp, "--json", "--silent"]
        ca_bundle = load_settings().ca_bundle
        if ca_bundle:
            command += ["--cafile", ca_bundle]
        try:
            done = subprocess.run(command, cwd=tmp, capture_output=True, text=True, timeout=NPM_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.write_text(f"$ {' '.join(command)}\ntimed out after {NPM_TIMEOUT}s\n")
            raise UserError(f"cannot install the {recipe.name} agent: `npm pack {recipe.npm_spec}` ran past "
                            f"{NPM_TIMEOUT}s; check {log}") from None
        log.write_text(f"$ {' '.join(command)}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}\n")
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            raise UserError(f"cannot install the {recipe.name} agent: `npm pack {recipe.npm_spec}` failed "
                            f"(is the version right? set ${recipe.version_env}); check {log}")
        staging = Path(tmp) / "files"
        files = _extract(recipe, tarballs[0], staging, log)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        staging.rename(folder / "files")
        # The manifest goes last: a folder with a manifest is complete.
        (folder / MANIFEST).write_text(json.dumps({"spec": recipe.npm_spec, "files": files}, indent=1))
    return FetchedAgent(folder=folder, files=files)


def _extract(recipe: AgentRecipe, tarball: Path, staging: Path, log: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    with tarfile.open(tarball) as archive:
        for name in recipe.files:
            try:
                member = archive.getmember(f"package/{name}")
            except KeyError:
                with log.open("a") as handle:
                    handle.write("package contents:\n" + "\n".join(archive.getnames()) + "\n")
                raise UserError(f"cannot install the {recipe.name} agent: {recipe.npm_spec} has no file {name} "
                                f"(fix `files` in {recipe.source}); check {log}") from None
            source = archive.extractfile(member)
            if source is None:
                raise UserError(f"cannot install the {recipe.name} agent: {name} in {recipe.npm_spec} is not "
                                f"a regular file; check {log}")
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            with source, target.open("wb") as out:
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    digest.update(chunk)
                    out.write(chunk)
            target.chmod(0o755)
            files[name] = digest.hexdigest()
    return files


def main(names: list[str]) -> int:
    for name in names or list(BUNDLED):
        try:
            fetched = fetch(bundled_recipe(name))
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"{name}: {fetched.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
