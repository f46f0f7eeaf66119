"""Podman as an engine of its own: its service started on demand, doctor's word on it, images it builds.

Real Podman (rootful here, as root), a real service on a socket of the test's own where a test
changes how Podman is set up, real images imported and built by Podman.
"""

from __future__ import annotations

import json
import secrets
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.errors import UserError
from corebench_runner.images.engine import images_on
from corebench_runner.sandbox.podman import engine as podman_engine
from corebench_runner.sandbox.podman.engine import PodmanEngine
from corebench_runner.settings import load_settings
from support_docker import require_image

pytestmark = pytest.mark.podman


@pytest.fixture
def own_service(tmp_path, monkeypatch):
    """A Podman engine whose service runs on a socket under tmp_path, ended after the test."""
    monkeypatch.delenv("CONTAINER_HOST", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "runtime"))
    engine = PodmanEngine()
    monkeypatch.setattr(podman_engine, "PODMAN", engine)  # what doctor asks
    yield engine
    engine.stop_service()


def test_the_service_starts_on_demand_on_the_users_socket_and_answers(own_service, tmp_path):
    socket = tmp_path / "runtime" / "corebench" / "podman.sock"
    assert not socket.exists()
    client = own_service.client()
    assert socket.is_socket() and client.ping()
    assert "Podman" in json.dumps(client.version())
    assert own_service.answers()
    # In a folder of its own: what conmon leaves in its working directory stays out of the user's.
    assert Path(f"/proc/{own_service._service.pid}/cwd").resolve() == socket.parent


def test_without_podman_the_kind_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.delenv("CONTAINER_HOST", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no podman on it
    with pytest.raises(UserError, match=r"Podman is not installed; install it \(`apt-get install podman`"):
        PodmanEngine().client()
    monkeypatch.setattr(podman_engine.PODMAN, "_client", None)  # the kind's engine, as in a fresh process
    result = CliRunner().invoke(main, ["images", "list", "--sandbox", "podman"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "Podman is not installed" in result.output


def test_a_container_host_that_does_not_answer_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("CONTAINER_HOST", f"unix://{tmp_path}/nothing.sock")
    with pytest.raises(UserError, match="CONTAINER_HOST=unix://.*nothing.sock is not answering; point CONTAINER_HOST"):
        PodmanEngine().client()


def test_doctor_says_podman_can_run(own_service):
    require_image(kind="podman")
    result = CliRunner().invoke(main, ["doctor"])
    line = next(line for line in result.output.splitlines() if "podman" in line)
    assert line.startswith("ok    podman ") and "(rootful): --sandbox podman can run" in line, result.output


def test_doctor_names_the_fix_in_one_line_when_podman_cannot_start_a_container(own_service, tmp_path, monkeypatch):
    # Podman reads only $CONTAINERS_CONF when it is set: without `default_ulimits = []`, this host refuses.
    bare = tmp_path / "containers.conf"
    bare.write_text("[containers]\n")
    monkeypatch.setenv("CONTAINERS_CONF", str(bare))
    require_image(kind="podman")
    result = CliRunner().invoke(main, ["doctor"])
    lines = [line for line in result.output.splitlines() if "podman" in line]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("warn  podman ") and "cannot start a container" in lines[0]
    assert "default_ulimits = []" in lines[0] and "/etc/containers/containers.conf.d/" in lines[0]
    assert own_service.client().containers.list(all=True, filters={"label": "corebench.managed=1",
                                                                     "status": "created"}) == []


def test_base_images_import_the_root_filesystem_debootstrap_left(tmp_path, monkeypatch):
    """A second engine imports the kept tarball: no debootstrap, the same Debian and its provenance."""
    from corebench_runner.images import base

    monkeypatch.setenv("COREBENCH_BUILD_DIR", str(tmp_path / "builds"))
    settings = load_settings()
    tarball, labels_file = base._rootfs_cache(settings)
    tarball.parent.mkdir(parents=True)
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "os-release").write_text('PRETTY_NAME="kept"\n')
    with tarfile.open(tarball, "w") as tar:
        tar.add(rootfs, arcname=".")
    labels_file.write_text(json.dumps({"corebench.image": "bootstrap", "corebench.debian_mirror": "http://kept"}))
    monkeypatch.setattr(base, "_require_bootstrap_tools", lambda: pytest.fail("debootstrap was run again"))
    tag = f"corebench/test-podman-root:{secrets.token_hex(3)}"
    with images_on("podman"):
        base.bootstrap_debian(settings, tag=tag, fresh=False)
        client = base.engine_client()
        try:
            image = client.images.get(tag)
            assert image.labels["corebench.debian_mirror"] == "http://kept"
            assert image.attrs["Config"]["Cmd"] == ["bash"]
        finally:
            client.images.remove(tag, force=True)


def test_images_list_and_build_base_speak_of_podmans_images():
    require_image(kind="podman")
    listed = CliRunner().invoke(main, ["images", "list", "--sandbox", "podman"])
    assert listed.exit_code == 0 and "corebench/base:bookworm" in listed.output
    built = CliRunner().invoke(main, ["images", "build-base", "--sandbox", "podman", "--only", "base"])
    assert built.exit_code == 0 and "corebench/base:bookworm exists" in built.output


def test_a_cdi_spec_naming_nvidia_gpus_is_what_podman_needs_for_a_gpu(tmp_path):
    from corebench_runner.sandbox.gpu import cdi_names_gpus

    assert cdi_names_gpus((str(tmp_path),)) is False
    (tmp_path / "nvidia.yaml").write_text("cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices:\n- name: all\n")
    assert cdi_names_gpus((str(tmp_path),)) is True




def test_clean_goes_on_with_the_other_engines_when_podman_does_not_answer(monkeypatch, tmp_path):
    monkeypatch.setenv("CONTAINER_HOST", f"unix://{tmp_path}/nothing.sock")
    monkeypatch.setattr(podman_engine.PODMAN, "_client", None)
    result = CliRunner().invoke(main, ["clean", "--run", "test-no-such-run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "warning: podman sandboxes not checked: Podman's service at CONTAINER_HOST=" in result.output
    assert "nothing to clean" in result.output or "would remove" in result.output
