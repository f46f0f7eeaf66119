"""One GPU policy: whether a task gets a GPU, whether this host can give one, and how each engine is asked.

A task gets a GPU when its capsule wants one and the host has one its engine can hand in
(gpu_decision). The host has one when nvidia-smi lists a GPU and the engine can pass it: Docker
through its nvidia runtime (a device request for every GPU), Podman through the Container Device
Interface (the CDI device `nvidia.com/gpu=all`, from a spec that `nvidia-ctk cdi generate` writes).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

# Every NVIDIA GPU, by its CDI name: what Podman is asked for.
CDI_ALL_GPUS = "nvidia.com/gpu=all"
# Where CDI specs live (the CDI specification's two folders).
CDI_SPEC_DIRS = ("/etc/cdi", "/var/run/cdi")


def gpu_request(kind: str) -> dict:
    """The keyword arguments for containers.create() that hand every GPU in, on this kind's engine."""
    if kind == "podman":  # Podman resolves a CDI name given as a device
        return {"devices": [CDI_ALL_GPUS]}
    import docker.types

    return {"device_requests": [docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])]}


@functools.lru_cache(maxsize=1)
def nvidia_gpu_listed() -> bool:
    """True when nvidia-smi answers and lists a GPU."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return listed.returncode == 0 and "GPU" in listed.stdout


def cdi_names_gpus(spec_dirs: tuple[str, ...] = CDI_SPEC_DIRS) -> bool:
    """Whether a CDI spec on this host names the nvidia.com/gpu devices (Podman's way to a GPU)."""
    for folder in spec_dirs:
        for spec in sorted(Path(folder).glob("*.y*ml")) + sorted(Path(folder).glob("*.json")):
            try:
                if "nvidia.com/gpu" in spec.read_text(errors="replace"):
                    return True
            except OSError:
                continue
    return False


@functools.lru_cache(maxsize=4)
def host_has_gpu(kind: str = "docker") -> bool:
    """True when an NVIDIA GPU answers nvidia-smi and this kind's engine can hand it in."""
    if not nvidia_gpu_listed():
        return False
    from corebench_runner.sandbox.providers import provider_for

    return provider_for(kind).gpu_ready()


def gpu_decision(capsule_gpu: str, host_has_gpu: bool, allow_no_gpu: bool) -> tuple[bool, str | None]:
    """(use_gpu, skip_reason): a task needing a GPU this host lacks is skipped, with the reason.

    capsule_gpu is the capsule's `gpu` field: "none", "optional" or "required". "optional" runs
    without a GPU only when --allow-no-gpu says so; "required" never does.
    """
    if capsule_gpu == "none":
        return False, None
    if host_has_gpu:
        return True, None
    if capsule_gpu == "optional" and allow_no_gpu:
        return False, None
    if capsule_gpu == "optional":
        return False, "capsule wants a GPU (gpu = \"optional\") and this host has none; pass --allow-no-gpu to run it on CPU"
    return False, "capsule needs a GPU (gpu = \"required\") and this host has none"
