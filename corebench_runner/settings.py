"""User settings for building images and starting containers.

Read from a TOML file under the user's config folder (platformdirs), then from environment
variables, which win. Every field has a default that works on a plain Debian host:

    ca_bundle      COREBENCH_CA_BUNDLE      CA bundle handed to builds and containers, so pip,
                                            apt and R work behind a TLS-intercepting proxy.
                                            Default: the host's system bundle when it exists.
                                            Set to "" (or "none") to hand in nothing.
    debian_mirror  COREBENCH_DEBIAN_MIRROR  where debootstrap fetches Debian from.
    snapshot_date  COREBENCH_SNAPSHOT       e.g. 20261101T000000Z; when set, the mirror becomes
                                            snapshot.debian.org at that date, so a base image
                                            can be rebuilt identically later.
    build_dir      COREBENCH_BUILD_DIR      where each image build keeps its Dockerfile and log.
    blocked_hosts  COREBENCH_BLOCKED_HOSTS  hosts task containers cannot reach by name (the
                                            capsules' and the dataset's own sites, which hold
                                            the original results). Comma-separated in the
                                            variable, a list in the file; "none" turns it off.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

import platformdirs

from corebench_runner.errors import UserError

APP_NAME = "corebench-runner"  # one folder name for config, cache and data, as the store and prices use
LEGACY_APP_NAME = "corebench"  # settings were once read from here; still read, and `doctor` says to move them
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SNAPSHOT_URL = "http://snapshot.debian.org/archive/debian/{date}/"
# Where Debian, Ubuntu, Fedora and Alpine keep the system bundle, in that order.
SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
)
# CORE-Bench's capsules come from Code Ocean and its v1.1 dataset from Hugging Face: both serve the
# original results, so a task container must not reach them. Each name is blocked with the
# subdomains the sites serve files from.
DEFAULT_BLOCKED_HOSTS = ("codeocean.com", "huggingface.co", "hf.co")
BLOCKED_SUBDOMAINS = ("", "www.", "files.", "api.", "s3.", "cdn.", "cdn-lfs.", "cdn-lfs-us-1.", "cas-bridge.xethub.",
                      "datasets-server.")
BLOCKED_ADDRESS = "0.0.0.0"  # nowhere: a connection to it fails at once instead of waiting for a timeout
_HOST_NAME = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*")
ENV_NAMES = {
    "ca_bundle": "COREBENCH_CA_BUNDLE",
    "debian_mirror": "COREBENCH_DEBIAN_MIRROR",
    "snapshot_date": "COREBENCH_SNAPSHOT",
    "build_dir": "COREBENCH_BUILD_DIR",
    "blocked_hosts": "COREBENCH_BLOCKED_HOSTS",
}


def settings_file() -> Path:
    if os.environ.get("COREBENCH_SETTINGS"):
        return Path(os.environ["COREBENCH_SETTINGS"])
    current = Path(platformdirs.user_config_dir(APP_NAME)) / "settings.toml"
    legacy = legacy_settings_file()
    return legacy if not current.is_file() and legacy.is_file() else current


def legacy_settings_file() -> Path:
    return Path(platformdirs.user_config_dir(LEGACY_APP_NAME)) / "settings.toml"


def default_ca_bundle() -> str | None:
    return next((p for p in SYSTEM_CA_BUNDLES if Path(p).is_file()), None)


@dataclass(frozen=True)
class Settings:
    ca_bundle: str | None = None
    debian_mirror: str = DEFAULT_MIRROR
    snapshot_date: str | None = None
    build_dir: str = ""
    blocked_hosts: tuple[str, ...] = DEFAULT_BLOCKED_HOSTS

    def blocked_host_entries(self) -> dict[str, str]:
        """Host-file entries for a task container: every blocked name (and its file subdomains) to nowhere."""
        return {prefix + host: BLOCKED_ADDRESS for host in self.blocked_hosts for prefix in BLOCKED_SUBDOMAINS}

    @property
    def mirror(self) -> str:
        """The mirror debootstrap uses: the snapshot when a date is set."""
        if self.snapshot_date:
            return SNAPSHOT_URL.format(date=self.snapshot_date)
        return self.debian_mirror

    def ca_bundle_bytes(self) -> bytes | None:
        """The bundle's content, or None when no bundle is set; a missing file is the user's to fix."""
        if not self.ca_bundle:
            return None
        path = Path(self.ca_bundle)
        if not path.is_file():
            raise UserError(f"CA bundle {path} does not exist; fix `ca_bundle` in {settings_file()} "
                            f"or $COREBENCH_CA_BUNDLE (\"none\" turns it off)")
        return path.read_bytes()


def _clean(name: str, value: object) -> str | tuple[str, ...] | None:
    if name == "blocked_hosts":
        return _host_names(value)
    text = "" if value is None else str(value).strip()
    if name in ("ca_bundle", "snapshot_date") and text.lower() in ("", "none"):
        return None
    return text


def _host_names(value: object) -> tuple[str, ...]:
    """A list (file) or comma-separated text (variable) of host names; "none", "" or false: nothing blocked."""
    if value is False or value is None:
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    names = tuple(str(item).strip().lower().rstrip(".") for item in items if str(item).strip())
    if names in ((), ("none",), ("false",)):
        return ()
    bad = [n for n in names if not _HOST_NAME.fullmatch(n)]
    if bad:
        raise UserError(f"blocked_hosts: {', '.join(bad)} is not a host name; fix it in {settings_file()} "
                        "or $COREBENCH_BLOCKED_HOSTS (e.g. codeocean.com,huggingface.co; \"none\" turns it off)")
    return names


def load_settings(**overrides: str | None) -> Settings:
    """Defaults, then the settings file, then environment variables, then explicit overrides."""
    values: dict[str, object] = {
        "ca_bundle": default_ca_bundle(),
        "debian_mirror": DEFAULT_MIRROR,
        "snapshot_date": None,
        "build_dir": str(Path(platformdirs.user_cache_dir(APP_NAME)) / "builds"),
        "blocked_hosts": DEFAULT_BLOCKED_HOSTS,
    }
    path = settings_file()
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{path} is not valid TOML ({exc}); fix or delete it") from None
        except RecursionError:
            raise UserError(f"{path}: arrays or tables nested too deep to read; fix or delete it") from None
        known = {f.name for f in fields(Settings)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values.update({k: _clean(k, v) for k, v in data.items()})
    for name, env in ENV_NAMES.items():
        if env in os.environ:
            values[name] = _clean(name, os.environ[env])
    values.update({k: _clean(k, v) for k, v in overrides.items() if v is not None})
    settings = Settings(**values)  # type: ignore[arg-type]
    if not settings.build_dir:
        settings = replace(settings, build_dir=str(Path(platformdirs.user_cache_dir(APP_NAME)) / "builds"))
    return settings
