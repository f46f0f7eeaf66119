"""What a task container is created with: its configuration, and the files it starts with.

The configuration (container_config) sets the limits, the labels, no privileges and no host
environment. The files (the exec wrapper, the CA bundle when the image lacks it, the workdir owned
by the sandbox user, and the workspace) go in as one tar archive into the created container, before
it starts: the engine takes about as long for one archive as for one exec, so a container that
starts complete needs no setup round trips of its own.
"""

from __future__ import annotations

import io
import posixpath
import secrets
import tarfile
import threading
import time
from importlib import resources
from pathlib import Path
from typing import IO

import docker.errors

from corebench_runner.errors import UserError
from corebench_runner.sandbox.base import SandboxSpec
from corebench_runner.sandbox.gpu import gpu_request
from corebench_runner.sandbox.labels import RUN_LABEL, TASK_LABEL, owner_labels

# Kept: what apt-get and pip need as root (chown, setuid to _apt, ...). Dropped: raw sockets,
# device nodes, audit and file capabilities, none of which reproducing a paper needs.
DROPPED_CAPABILITIES = ["NET_RAW", "MKNOD", "AUDIT_WRITE", "SETFCAP", "SYS_CHROOT"]
EXEC_WRAPPER = "/usr/local/libexec/corebench-exec"
CA_PATH = "/usr/local/share/corebench/host-ca.crt"
CA_ENV_NAMES = ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO")

_user_ids: dict[tuple[str, str], tuple[int, int]] = {}  # (image id, user) -> (uid, gid): an image never changes
_user_ids_lock = threading.Lock()


def container_config(spec: SandboxSpec, hand_in_ca: bool = False, network: str | None = None,
                     blocked_hosts: dict[str, str] | None = None, gpu: dict | None = None) -> dict:
    """The keyword arguments for containers.create(): limits, labels, no privileges, no host env.

    gpu: what the engine is given to hand every GPU in (engine.Engine.gpu_config), used when spec.gpu."""
    # The owner's host and pid let `corebench clean` tell a killed run's leftovers from a live run.
    labels = {**spec.labels, **owner_labels()}
    name_bits = [spec.labels.get(k, "") for k in (RUN_LABEL, TASK_LABEL)]
    name = "-".join(["corebench", *[b for b in name_bits if b], secrets.token_hex(3)])
    env = dict(spec.env)
    if hand_in_ca:
        env.update({k: CA_PATH for k in CA_ENV_NAMES})
    config: dict = dict(
        image=spec.image, command=["sleep", "infinity"], name=docker_name(name), labels=labels,
        environment=env, working_dir="/", init=True, detach=True, network_mode=network or spec.network,
        pids_limit=spec.pids_limit, cap_drop=DROPPED_CAPABILITIES, security_opt=["no-new-privileges"],
        privileged=False, stdin_open=False, tty=False,
    )
    if spec.cpus:
        config["nano_cpus"] = int(spec.cpus * 1e9)
    if spec.memory:
        config["mem_limit"] = spec.memory
        config["memswap_limit"] = spec.memory  # no swap beyond the memory limit
    if blocked_hosts:  # names whose sites serve the original results resolve to nowhere (settings.blocked_hosts)
        config.setdefault("extra_hosts", {}).update(blocked_hosts)
    if spec.gpu:
        config.update(gpu if gpu is not None else gpu_request("docker"))
    return config


def docker_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_.-" else "-" for c in name)
    return cleaned[:120]


def user_ids(container, image: str, user: str) -> tuple[int, int]:
    """(uid, gid) of `user` in a created container's image, read from its /etc/passwd (once per image).

    UserError when the image has no such user."""
    if user in ("root", "0"):
        return 0, 0
    key = (container.attrs.get("Image", image), user)
    with _user_ids_lock:  # tasks that start together on one image read its passwd once
        if key not in _user_ids:
            _user_ids[key] = _read_user_ids(container, image, user)
        return _user_ids[key]


def _read_user_ids(container, image: str, user: str) -> tuple[int, int]:
    try:
        chunks, _ = container.get_archive("/etc/passwd")
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            member = tar.next()
            extracted = tar.extractfile(member) if member is not None else None
            passwd = extracted.read().decode(errors="replace") if extracted is not None else ""
    except docker.errors.NotFound:
        passwd = ""
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == user and fields[2].isdigit() and fields[3].isdigit():
            return int(fields[2]), int(fields[3])
    raise UserError(f"image {image} has no user {user!r}; build it FROM a corebench base image "
                    "(they have `agent`) or run without a sandbox user")


def write_setup_archive(out: IO[bytes], workdir: str, owner: tuple[int, int], ca: bytes | None,
                        workspace: Path | None) -> None:
    """The tar to extract at "/": the exec wrapper, the CA bundle, the workdir owned by `owner`, and the
    contents of the host folder `workspace` in it, owned by `owner` too (missing parents are made)."""
    now = int(time.time())
    wrapper = resources.files("corebench_runner.sandbox").joinpath("corebench-exec.sh").read_bytes()
    root = workdir.strip("/")
    uid, gid = owner

    def owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
        return info

    with tarfile.open(fileobj=out, mode="w") as tar:
        add_bytes(tar, EXEC_WRAPPER, wrapper, (0, 0), 0o755, now)
        if ca is not None:
            add_bytes(tar, CA_PATH, ca, (0, 0), 0o644, now)
        if root:  # made as `mkdir -p WORKDIR && chown USER: WORKDIR` would
            folder = tarfile.TarInfo(root)
            folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o755, now
            tar.addfile(owned(folder))
        for entry in sorted(workspace.iterdir()) if workspace is not None else ():
            tar.add(entry, arcname=posixpath.join(root, entry.name), filter=owned)


def add_bytes(tar: tarfile.TarFile, path: str, data: bytes, owner: tuple[int, int], mode: int, mtime: int) -> None:
    info = tarfile.TarInfo(path.lstrip("/"))  # extracted at "/", so missing parents are made
    info.size, info.mode, info.mtime = len(data), mode, mtime
    info.uid, info.gid = owner
    tar.addfile(info, io.BytesIO(data))
