"""Base images built without any registry: debootstrap -> import -> toolchain layers, on the sandbox kind's engine.

    corebench/bootstrap:bookworm  the raw debootstrap'd Debian (minbase + ca-certificates, curl, git)
    corebench/base:bookworm       + CA bundle, user `agent` (uid 1000), /workspace
    corebench/python:bookworm     + python3 and the scientific stack from Debian
    corebench/r:bookworm          + r-base-core, r-recommended, r-cran-jsonlite, r-cran-ggplot2
    corebench/python-r:bookworm   corebench/python + the R packages (the generic toolbox)

The debootstrap'd root filesystem is kept as a tarball in the build folder, so that a second engine
(`images build-base --sandbox podman`) imports the same Debian instead of running debootstrap again.

Each image records where Debian came from (mirror, snapshot date, the mirror's Release date) as
labels and its installed package list in /usr/local/share/corebench/packages.txt, so that a
rebuild can be compared with the original.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

import docker.errors
import docker.utils

from corebench_runner.errors import UserError
from corebench_runner.images.build import run_build
from corebench_runner.images.engine import client as engine_client, import_rootfs
from corebench_runner.settings import Settings, load_settings

SUITE = "bookworm"
BOOTSTRAP_IMAGE = f"corebench/bootstrap:{SUITE}"
BOOTSTRAP_PACKAGES = ("ca-certificates", "curl", "git", "procps")


@dataclass(frozen=True)
class BaseImage:
    name: str  # what --only takes
    tag: str
    parent: str  # the name of the image it is built FROM ("bootstrap" for base)
    dockerfile: str  # file in images/dockerfiles/


BASE_IMAGES: dict[str, BaseImage] = {
    "base": BaseImage("base", f"corebench/base:{SUITE}", "bootstrap", "base.Dockerfile"),
    "python": BaseImage("python", f"corebench/python:{SUITE}", "base", "python.Dockerfile"),
    "r": BaseImage("r", f"corebench/r:{SUITE}", "base", "r.Dockerfile"),
    "python-r": BaseImage("python-r", f"corebench/python-r:{SUITE}", "python", "python-r.Dockerfile"),
}
TOOLBOX = "python-r"


def toolbox_image() -> str:
    """The generic image used when a level hides the capsule's own environment."""
    return BASE_IMAGES[TOOLBOX].tag


def image_exists(tag: str) -> bool:
    try:
        engine_client().images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def _tag_of(name: str) -> str:
    return BOOTSTRAP_IMAGE if name == "bootstrap" else BASE_IMAGES[name].tag


def _with_parents(names: list[str]) -> list[str]:
    """The named images and everything they are built FROM, parents first."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name == "bootstrap" or name in order:
            return
        visit(BASE_IMAGES[name].parent)
        order.append(name)

    for name in names:
        visit(name)
    return order


def ensure_base_images(only: list[str] | None = None, rebuild: bool = False, from_registry: str | None = None,
                       settings: Settings | None = None, progress: Callable[[str], None] = lambda _: None) -> dict[str, float]:
    """Build the missing base images (all, or `only` and their parents). Returns seconds per image built."""
    settings = settings or load_settings()
    unknown = [n for n in only or [] if n not in BASE_IMAGES]
    if unknown:
        raise UserError(f"--only {unknown[0]!r} is not a base image; use one of {', '.join(BASE_IMAGES)}")
    wanted = _with_parents(only or list(BASE_IMAGES))
    timings: dict[str, float] = {}
    needs_root_image = any(BASE_IMAGES[n].parent == "bootstrap" and (rebuild or not image_exists(BASE_IMAGES[n].tag))
                           for n in wanted)
    if needs_root_image:
        started = time.monotonic()
        if from_registry:
            progress(f"pulling {from_registry}")
            _pull_as_bootstrap(from_registry)
        elif rebuild or not image_exists(BOOTSTRAP_IMAGE):
            cached = None if rebuild else cached_rootfs(settings)
            progress(f"importing the root filesystem debootstrap made before ({cached})" if cached else
                     f"debootstrap {SUITE} from {settings.mirror}")
            bootstrap_debian(settings, fresh=rebuild)
        timings["bootstrap"] = time.monotonic() - started
    rebuilt: set[str] = set()
    for name in wanted:
        image = BASE_IMAGES[name]
        parent_rebuilt = image.parent in rebuilt or (image.parent == "bootstrap" and "bootstrap" in timings)
        if not rebuild and not parent_rebuilt and image_exists(image.tag):
            progress(f"{image.tag} exists (use --rebuild to build it again)")
            continue
        progress(f"building {image.tag}")
        started = time.monotonic()
        build_layer(image, settings)
        timings[name] = time.monotonic() - started
        rebuilt.add(name)
        progress(f"built {image.tag} in {timings[name]:.0f} s")
    return timings


def build_layer(image: BaseImage, settings: Settings) -> str:
    """Build one base image from its Dockerfile on top of its parent; returns the image id."""
    log_dir = Path(settings.build_dir) / "base" / image.name
    with tempfile.TemporaryDirectory(prefix=f"corebench-{image.name}-") as tmp:
        context = Path(tmp)
        source = resources.files("corebench_runner.images") / "dockerfiles" / image.dockerfile
        (context / "Dockerfile").write_bytes(source.read_bytes())
        ca = settings.ca_bundle_bytes() or b""
        (context / "extra-ca.crt").write_bytes(ca)
        parent_tag = _tag_of(image.parent)
        labels = {"corebench.image": image.name, "corebench.ca_bundle_sha256": hashlib.sha256(ca).hexdigest()}
        return run_build(context, image.tag, log_dir, labels=labels, what=f"base image {image.tag}",
                         buildargs={"ROOTFS": parent_tag, "BASE": parent_tag})


def _require_bootstrap_tools() -> None:
    if shutil.which("debootstrap") is None:
        raise UserError("debootstrap is not installed; install it (`apt-get install debootstrap`, scripts/setup.sh does) "
                        "or pass --from-registry IMAGE")
    if os.geteuid() != 0:
        raise UserError("debootstrap needs root; run `corebench images build-base` as root (e.g. with sudo) "
                        "or pass --from-registry IMAGE")


def _rootfs_cache(settings: Settings) -> tuple[Path, Path]:
    """(tarball, its labels) of the root filesystem debootstrap makes from this mirror."""
    key = hashlib.sha256(f"{SUITE} {settings.mirror} {' '.join(BOOTSTRAP_PACKAGES)}".encode()).hexdigest()[:16]
    folder = Path(settings.build_dir) / "base" / "bootstrap"
    return folder / f"rootfs-{key}.tar", folder / f"rootfs-{key}.labels.json"


def cached_rootfs(settings: Settings) -> Path | None:
    """The root filesystem tarball an earlier debootstrap from this mirror left, if any."""
    tarball, labels = _rootfs_cache(settings)
    return tarball if tarball.is_file() and labels.is_file() else None


def _import_rootfs(tarball: Path, labels: dict[str, str], tag: str) -> None:
    changes = [f'LABEL {k}="{v}"' for k, v in labels.items()]
    changes += ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'CMD ["bash"]']
    import_rootfs(str(tarball), tag, changes)


def bootstrap_debian(settings: Settings, tag: str = BOOTSTRAP_IMAGE, fresh: bool = True) -> None:
    """debootstrap a minimal Debian into a temp folder and import it as `tag` on the current engine.

    The tarball is kept (_rootfs_cache); fresh=False imports a kept one instead of running debootstrap."""
    if not fresh and cached_rootfs(settings) is not None:
        tarball, labels_file = _rootfs_cache(settings)
        _import_rootfs(tarball, json.loads(labels_file.read_text()), tag)
        return
    _require_bootstrap_tools()
    log_dir = Path(settings.build_dir) / "base" / "bootstrap"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "build.log"
    work = Path(tempfile.mkdtemp(prefix="corebench-rootfs-", dir=log_dir))
    rootfs, tarball = work / "rootfs", work / "rootfs.tar"
    try:
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(BOOTSTRAP_PACKAGES)}", SUITE, str(rootfs), settings.mirror]
        with log_path.open("w") as log:
            log.write("# " + " ".join(cmd) + "\n")
            log.flush()
            done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            raise UserError(f"debootstrap from {settings.mirror} failed (exit {done.returncode}); check {log_path}")
        labels = _record_provenance(rootfs, settings)
        subprocess.run(["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(tarball),
                        "--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*", "."], check=True)
        _import_rootfs(tarball, labels, tag)
        kept, kept_labels = _rootfs_cache(settings)
        tarball.replace(kept)  # for the next engine's import
        kept_labels.write_text(json.dumps(labels))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _record_provenance(rootfs: Path, settings: Settings) -> dict[str, str]:
    """Write the package list and apt settings into the rootfs; return labels saying where it came from."""
    lists = rootfs / "var/lib/apt/lists"
    release_date = ""
    for release in sorted(lists.glob("*Release")):
        for line in release.read_text(errors="replace").splitlines():
            if line.startswith("Date:"):
                release_date = line.split(":", 1)[1].strip()
                break
    share = rootfs / "usr/local/share/corebench"
    share.mkdir(parents=True, exist_ok=True)
    packages = subprocess.run(["chroot", str(rootfs), "dpkg-query", "-W"], capture_output=True, text=True, check=True).stdout
    (share / "packages.txt").write_text(packages)
    (share / "debian-source.txt").write_text(f"mirror={settings.mirror}\nsnapshot={settings.snapshot_date or ''}\n"
                                             f"release_date={release_date}\n")
    apt_conf = ['APT::Install-Recommends "false";', 'APT::Install-Suggests "false";']
    if settings.snapshot_date:
        apt_conf.append('Acquire::Check-Valid-Until "false";')  # snapshot Release files are expired by design
    (rootfs / "etc/apt/apt.conf.d/99corebench").write_text("\n".join(apt_conf) + "\n")
    for item in lists.glob("*"):
        if item.is_file():
            item.unlink()
    shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
    (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    return {"corebench.image": "bootstrap", "corebench.debian_mirror": settings.mirror, "corebench.debian_snapshot": settings.snapshot_date or "",
            "corebench.debian_release_date": release_date}


def _pull_as_bootstrap(reference: str) -> None:
    """Use a registry image as the root instead of debootstrap (for users who have a registry)."""
    try:
        repository, tag = docker.utils.parse_repository_tag(reference)
        image = engine_client().images.pull(repository, tag=tag or "latest")
    except docker.errors.APIError as exc:
        raise UserError(f"--from-registry {reference}: pull failed ({exc.explanation or exc}); "
                        "check the name and that the registry is reachable") from None
    repository, tag = BOOTSTRAP_IMAGE.split(":")
    image.tag(repository, tag)
