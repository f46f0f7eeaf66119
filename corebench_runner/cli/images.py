"""`corebench images ...`: build, list and prune the images tasks run in."""

from __future__ import annotations

import time

import click
import docker.errors

from corebench_runner import images
from corebench_runner.cli.common import PluginName, echo_table, suite_from
from corebench_runner.errors import UserError
from corebench_runner.images.engine import client as engine_client, images_on, short_tag
from corebench_runner.settings import load_settings


@click.group("images")
def images_group() -> None:
    """Build, list and prune base images and per-capsule environment images."""


def engine_option(command):
    """--sandbox: the kind whose engine holds the images (docker, podman); every command here takes it."""
    return click.option("--sandbox", "sandbox_kind", type=PluginName("sandboxes"), default="docker",
                        show_default=True, help="The sandbox kind whose engine builds and holds the images "
                        "(docker or podman).")(command)


@images_group.command("build-base")
@engine_option
@click.option("--only", "only", multiple=True, type=click.Choice(list(images.BASE_IMAGES)),
              help="Build just this base image (and the ones it is built FROM). Repeatable.")
@click.option("--rebuild", is_flag=True, help="Build again even when the image already exists.")
@click.option("--from-registry", "from_registry", metavar="IMAGE",
              help="Start from this registry image (e.g. debian:bookworm) instead of debootstrap.")
@click.option("--snapshot", "snapshot", metavar="DATE",
              help="Debian snapshot date (e.g. 20261101T000000Z) so a rebuild gets the same packages. "
                   "Default: the `snapshot_date` setting ($COREBENCH_SNAPSHOT), else the live mirror.")
@click.option("--ca-bundle", "ca_bundle", type=click.Path(dir_okay=False),
              help="CA bundle to trust inside the images (default: the `ca_bundle` setting, "
                   "$COREBENCH_CA_BUNDLE, else the host's system bundle). 'none' turns it off.")
def build_base(only: tuple[str, ...], rebuild: bool, from_registry: str | None, snapshot: str | None,
               ca_bundle: str | None, sandbox_kind: str) -> None:
    """Build the base images locally: debootstrap Debian, import it, add Python and R layers."""
    settings = load_settings(snapshot_date=snapshot, ca_bundle=ca_bundle)
    started = time.monotonic()
    with images_on(sandbox_kind):
        timings = images.ensure_base_images(only=list(only) or None, rebuild=rebuild, from_registry=from_registry,
                                            settings=settings, progress=click.echo)
    if not timings:
        click.echo("all base images exist; nothing to build")
    else:
        click.echo(f"done in {time.monotonic() - started:.0f} s (build logs: {settings.build_dir}/base)")


@images_group.command("build")
@click.argument("capsule_id")
@click.option("--rebuild", is_flag=True, help="Build again even when an image for this content exists.")
@engine_option
@click.pass_context
def build_environment(ctx: click.Context, capsule_id: str, rebuild: bool, sandbox_kind: str) -> None:
    """Build (or reuse) the environment image of CAPSULE_ID and print its tag.

    The capsule may still lack questions: authors build its environment before writing them.
    """
    capsule = suite_from(ctx).load(capsule_id, draft=True)
    with images_on(sandbox_kind):
        tag = images.environment_image(capsule, rebuild=rebuild, progress=lambda text: click.echo(text, err=True))
    click.echo(tag)


def _managed_images() -> list:
    return [img for img in engine_client().images.list() if (img.labels or {}).get("corebench.image")
            or any(short_tag(t).startswith("corebench/") for t in img.tags)]


@images_group.command("list")
@engine_option
def list_images(sandbox_kind: str) -> None:
    """List corebench images: base images and capsule environment images, with sizes."""
    rows = []
    with images_on(sandbox_kind):
        found = _managed_images()
    for img in sorted(found, key=lambda i: (i.tags or [""])[0]):
        labels = img.labels or {}
        created = img.attrs.get("Created", "")[:19].replace("T", " ")
        for tag in img.tags or ["<none>"]:
            rows.append([tag, labels.get("corebench.image", ""), labels.get("corebench.capsule", ""),
                         f"{img.attrs.get('Size', 0) / 1e6:.0f} MB", created])
    if not rows:
        click.echo("no corebench images; build them with `corebench images build-base`")
        return
    echo_table(["TAG", "KIND", "CAPSULE", "SIZE", "CREATED"], rows)


@images_group.command("prune")
@click.option("--orphans", is_flag=True,
              help="Also remove environment images of capsules that are not in this suite.")
@click.option("--all", "prune_all", is_flag=True,
              help="Remove every environment image, current ones too (they are rebuilt on demand).")
@click.option("--dry-run", is_flag=True, help="Say what would be removed, remove nothing.")
@engine_option
@click.pass_context
def prune(ctx: click.Context, orphans: bool, prune_all: bool, dry_run: bool, sandbox_kind: str) -> None:
    """Remove environment images of the suite's capsules that their current content no longer uses.

    Base images are always kept.
    """
    suite = suite_from(ctx)
    current: set[str] = set()
    with images_on(sandbox_kind):
        client = engine_client()
        for capsule_id in suite.capsule_ids():
            try:
                current.add(images.environment_tag(suite.load(capsule_id)))
            except UserError:
                pass  # a broken capsule has no current image to keep
    in_suite = set(suite.capsule_ids())
    removed = 0
    for img in client.images.list(filters={"label": "corebench.image=environment"}):
        capsule_id = (img.labels or {}).get("corebench.capsule", "")
        if not prune_all and not (orphans or capsule_id in in_suite):
            continue
        for tag in img.tags:
            if short_tag(tag) in current and not prune_all:
                continue
            click.echo(f"{'would remove' if dry_run else 'removing'} {tag}")
            if dry_run:
                continue
            try:
                client.images.remove(tag)
                removed += 1
            except docker.errors.APIError as exc:
                click.echo(f"  kept {tag}: {exc.explanation or exc}")
    if not dry_run:
        click.echo(f"removed {removed} image(s)" if removed else "nothing to prune")
