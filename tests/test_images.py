"""Environment images by content hash, build logs, the CA bundle, the images CLI and settings."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.capsules.format import load_capsule
from corebench_runner.cli import main
from corebench_runner.errors import UserError
from corebench_runner.images import BASE_IMAGES, environment_image, toolbox_image
from corebench_runner.images.base import BaseImage, build_layer
from corebench_runner.images.environment import parent_images
from corebench_runner.sandbox.base import SandboxSpec
from corebench_runner.sandbox.docker.sandbox import DockerSandbox
from corebench_runner.settings import DEFAULT_MIRROR, load_settings
from support_capsules import write_capsule
from support_docker import engine, require_image

BASE = BASE_IMAGES["base"].tag


@pytest.fixture
def isolated_settings(tmp_path, monkeypatch):
    """Build logs under tmp_path and no settings file of the user's."""
    monkeypatch.setenv("COREBENCH_SETTINGS", str(tmp_path / "settings.toml"))
    monkeypatch.setenv("COREBENCH_BUILD_DIR", str(tmp_path / "builds"))
    return tmp_path / "builds"


@pytest.fixture
def capsule_dir(tmp_path, isolated_settings):
    """A capsule whose Dockerfile copies a file in; a fresh id so its tags are its own."""
    capsule_id = f"img-test-{secrets.token_hex(3)}"
    folder = write_capsule(tmp_path / "suite" / "capsules", capsule_id)
    env = folder / "environment"
    (env / "setup.txt").write_text("version one\n")
    (env / "Dockerfile").write_text(f"FROM {BASE}\nCOPY setup.txt /opt/setup.txt\nRUN cp /opt/setup.txt /opt/copied\n")
    yield folder
    for image in engine().images.list(filters={"label": f"corebench.capsule={capsule_id}"}):
        engine().images.remove(image.id, force=True)


def _cat(tag: str, path: str) -> str:
    with DockerSandbox(SandboxSpec(image=tag, labels={"corebench.run": "test-images"})) as box:
        return box.exec(["cat", path]).stdout


@pytest.mark.docker
def test_environment_image_is_built_once_then_reused(capsule_dir, isolated_settings):
    require_image(BASE)
    capsule = load_capsule(capsule_dir)
    tag = environment_image(capsule)
    assert tag.startswith(f"corebench/env-{capsule.id}:")
    assert _cat(tag, "/opt/copied") == "version one\n"
    log_dir = isolated_settings / "env" / capsule.id / tag.split(":")[1]
    assert (log_dir / "Dockerfile").read_text() == (capsule_dir / "environment" / "Dockerfile").read_text()
    first_log = (log_dir / "build.log").stat().st_mtime_ns
    started = time.monotonic()
    assert environment_image(load_capsule(capsule_dir)) == tag
    assert time.monotonic() - started < 5
    assert (log_dir / "build.log").stat().st_mtime_ns == first_log  # nothing was built


@pytest.mark.docker
def test_changing_a_copied_file_or_the_dockerfile_builds_a_new_image(capsule_dir):
    require_image(BASE)
    first = environment_image(load_capsule(capsule_dir))
    (capsule_dir / "environment" / "setup.txt").write_text("version two\n")
    second = environment_image(load_capsule(capsule_dir))
    assert second != first and _cat(second, "/opt/copied") == "version two\n"
    dockerfile = capsule_dir / "environment" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN echo three > /opt/three\n")
    third = environment_image(load_capsule(capsule_dir))
    assert third not in (first, second) and _cat(third, "/opt/three") == "three\n"


@pytest.mark.docker
def test_a_failed_build_names_its_log(capsule_dir):
    require_image(BASE)
    (capsule_dir / "environment" / "Dockerfile").write_text(
        f"FROM {BASE}\nRUN echo 'installing the impossible' && exit 3\n")
    with pytest.raises(UserError) as caught:
        environment_image(load_capsule(capsule_dir))
    message = caught.value.message
    assert "\n" not in message and message.endswith("build.log")
    log = Path(message.rsplit("check ", 1)[1])
    assert "installing the impossible" in log.read_text()
    assert (log.parent / "Dockerfile").read_text().startswith(f"FROM {BASE}")


@pytest.mark.docker
def test_from_an_image_nobody_has_is_a_clear_error(capsule_dir):
    (capsule_dir / "environment" / "Dockerfile").write_text("FROM example.org/nowhere/nothing:1\n")
    with pytest.raises(UserError, match=r"Dockerfile: FROM example.org/nowhere/nothing:1 is not on this machine"):
        environment_image(load_capsule(capsule_dir))


def test_parent_images_skip_earlier_build_stages():
    text = ("FROM corebench/python:bookworm AS build\nRUN make\n"
            "from --platform=linux/amd64 corebench/r:bookworm\nCOPY --from=build /x /x\nFROM build\n")
    assert parent_images(text) == ["corebench/python:bookworm", "corebench/r:bookworm"]


@pytest.mark.docker
def test_images_cli_builds_lists_and_prunes(capsule_dir):
    require_image(BASE)
    suite = str(capsule_dir.parent.parent)
    runner = CliRunner()
    built = runner.invoke(main, ["--suite", suite, "images", "build", capsule_dir.name])
    assert built.exit_code == 0, built.output
    tag = built.output.strip().splitlines()[-1]
    listed = runner.invoke(main, ["images", "list"]).output
    assert tag.split(":")[0] in listed and tag.split(":")[1] in listed
    assert all(base.tag in listed for base in BASE_IMAGES.values())
    (capsule_dir / "environment" / "setup.txt").write_text("changed\n")
    current = environment_image(load_capsule(capsule_dir))
    pruned = runner.invoke(main, ["--suite", suite, "images", "prune"])
    assert pruned.exit_code == 0 and f"removing {tag}" in pruned.output
    assert current not in pruned.output
    tags = {t for image in engine().images.list() for t in image.tags}
    assert tag not in tags and current in tags


@pytest.mark.docker
def test_build_base_skips_images_that_exist(isolated_settings):
    for base in BASE_IMAGES.values():
        require_image(base.tag)
    result = CliRunner().invoke(main, ["images", "build-base"])
    assert result.exit_code == 0
    assert "all base images exist; nothing to build" in result.output
    bad = CliRunner().invoke(main, ["images", "build-base", "--only", "fortran"])
    assert bad.exit_code == 2 and "--only" in bad.output


@pytest.mark.docker
def test_toolbox_image_has_python_and_r():
    require_image(toolbox_image())
    assert toolbox_image() == "corebench/python-r:bookworm"
    with DockerSandbox(SandboxSpec(image=toolbox_image(), user="agent", labels={"corebench.run": "test-images"})) as box:
        result = box.exec("python -c 'import numpy, scipy, pandas, sklearn, statsmodels, matplotlib' && "
                          "Rscript -e 'library(MASS); library(survival); library(jsonlite); library(ggplot2); cat(\"ok\")'")
    assert result.exit_code == 0 and result.stdout.endswith("ok"), result.stderr


# ------------------------------------------------------------------ CA bundle

PYPI = "https://pypi.org/simple/six/"


@pytest.mark.docker
def test_ca_bundle_lets_tls_through_and_its_absence_does_not(tmp_path, isolated_settings):
    """Behind this machine's TLS-intercepting proxy only the host bundle makes HTTPS work."""
    require_image("corebench/bootstrap:bookworm")
    no_ca = BaseImage("base", f"corebench/test-no-ca:{secrets.token_hex(3)}", "bootstrap", "base.Dockerfile")
    build_layer(no_ca, load_settings(ca_bundle="none"))
    try:
        without = SandboxSpec(image=no_ca.tag, labels={"corebench.run": "test-ca"})
        with DockerSandbox(without, settings=load_settings(ca_bundle="none")) as box:
            refused = box.exec(f"curl -sS -m 30 -o /dev/null {PYPI}", timeout=60)
        assert refused.exit_code != 0 and "certificate" in refused.stderr.lower()
        # The same image, with the setting on: the sandbox hands the bundle in when it starts.
        with DockerSandbox(without, settings=load_settings()) as box:
            assert box.exec(f"curl -sS -m 30 -o /dev/null {PYPI}", timeout=60).exit_code == 0
    finally:
        engine().images.remove(no_ca.tag, force=True)
    # Our built images carry the bundle: pip finds packages on PyPI.
    with DockerSandbox(SandboxSpec(image=BASE_IMAGES["python"].tag, labels={"corebench.run": "test-ca"})) as box:
        pip = box.exec("pip download --no-deps --no-cache-dir -d /tmp/pkgs six && ls /tmp/pkgs", timeout=120)
    assert pip.exit_code == 0 and "six-" in pip.stdout, pip.stderr


# ------------------------------------------------------------------ settings

def test_settings_defaults_file_and_environment(tmp_path, monkeypatch):
    for name in ("COREBENCH_CA_BUNDLE", "COREBENCH_DEBIAN_MIRROR", "COREBENCH_SNAPSHOT", "COREBENCH_BUILD_DIR"):
        monkeypatch.delenv(name, raising=False)
    file = tmp_path / "settings.toml"
    monkeypatch.setenv("COREBENCH_SETTINGS", str(file))
    assert load_settings().mirror == DEFAULT_MIRROR
    file.write_text('snapshot_date = "20261101T000000Z"\nca_bundle = "none"\n')
    settings = load_settings()
    assert settings.mirror == "http://snapshot.debian.org/archive/debian/20261101T000000Z/"
    assert settings.ca_bundle is None and settings.ca_bundle_bytes() is None
    bundle = tmp_path / "proxy.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("COREBENCH_CA_BUNDLE", str(bundle))
    assert load_settings().ca_bundle_bytes() == b"-----BEGIN CERTIFICATE-----\n"


def test_bad_settings_are_user_errors_naming_the_file(tmp_path, monkeypatch):
    file = tmp_path / "settings.toml"
    monkeypatch.setenv("COREBENCH_SETTINGS", str(file))
    file.write_text("ca_bundel = 'x'\n")
    with pytest.raises(UserError, match=f"{file}: unknown setting"):
        load_settings()
    file.write_text("ca_bundle = \n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_settings()
    file.write_text(f"ca_bundle = '{tmp_path / 'missing.pem'}'\n")
    with pytest.raises(UserError, match="missing.pem does not exist"):
        load_settings().ca_bundle_bytes()


@pytest.mark.docker
@pytest.mark.slow
def test_debootstrap_import_records_where_debian_came_from(isolated_settings):
    """The registry-free root image: debootstrap + docker import, with its provenance inside."""
    from corebench_runner.images.base import bootstrap_debian

    tag = f"corebench/test-bootstrap:{secrets.token_hex(3)}"
    bootstrap_debian(load_settings(), tag=tag)
    try:
        labels = engine().images.get(tag).labels
        assert labels["corebench.debian_mirror"] == DEFAULT_MIRROR
        assert labels["corebench.debian_release_date"].endswith("UTC")  # the mirror's Release date
        out = engine().containers.run(tag, ["sh", "-c", "cat /usr/local/share/corebench/packages.txt; "
                                            "cat /etc/apt/apt.conf.d/99corebench; ls /var/lib/apt/lists"],
                                      remove=True).decode()
        assert "\ncurl\t" in out and "\ngit\t" in out and "ca-certificates\t" in out
        assert 'APT::Install-Recommends "false";' in out
        assert (isolated_settings / "base" / "bootstrap" / "build.log").read_text().startswith("# debootstrap")
        assert not list((isolated_settings / "base" / "bootstrap").glob("corebench-rootfs-*"))  # scratch removed
    finally:
        engine().images.remove(tag, force=True)


@pytest.mark.docker
def test_from_registry_that_cannot_be_reached_is_one_line(isolated_settings):
    before = engine().images.get(BASE).id
    result = CliRunner().invoke(main, ["images", "build-base", "--only", "base", "--rebuild",
                                       "--from-registry", "registry.invalid/debian:bookworm"])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == "pulling registry.invalid/debian:bookworm" and len(lines) == 2
    assert lines[1].startswith("error: --from-registry registry.invalid/debian:bookworm: pull failed")
    assert engine().images.get(BASE).id == before  # nothing was rebuilt
