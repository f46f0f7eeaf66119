"""The task network: task containers reach the internet and their own relay, not the host's services.

Task containers join a bridge network of their own (TASK_NETWORK, on a Linux bridge named per engine
by bridge_name, no traffic between containers). Packets from a container to any address of the host
enter the host's INPUT chain, where one rule sends everything that comes in on that bridge to CHAIN:

    CHAIN: ACCEPT  -s <container> -p tcp --dport <its relay's port>   (one per task, while it runs)
           ACCEPT  replies to connections the host opened
           REJECT  everything else (a listener on the host's 0.0.0.0 answers "connection refused")

Traffic to the internet is forwarded, not input, so it is untouched (Docker's own rules NAT it).
The network and the base rules are made when missing (so again after a reboot); a task's ACCEPT
rule is added when its relay starts and deleted when its sandbox closes (a killed run's are deleted
by the next run and by `corebench clean`). When iptables is missing
or refuses (not root), the run says so once and goes on without the firewall.
"""

from __future__ import annotations

import hashlib
import ipaddress
import shutil
import subprocess
import sys
import threading

import docker
import docker.errors

from corebench_runner.sandbox.labels import MANAGED_LABEL

TASK_NETWORK = "corebench-tasks"
CHAIN = "COREBENCH-TASKS"


def bridge_name(engine_id: str) -> str:
    """The Linux bridge of one engine's task network. Named per engine, because two engines on one
    host (a test's own dockerd, a second daemon) that both asked for one fixed name would share the
    interface, and the second would take the first's gateway address away."""
    return "cb-tasks-" + hashlib.sha256(engine_id.encode()).hexdigest()[:6]  # 15 characters: the Linux maximum


def _engine_identity(client: docker.DockerClient) -> str:
    """What tells engines on one host apart: engines that share /etc/docker share their ID, never
    their data root."""
    info = client.info()
    return f"{info.get('ID', '')}:{info.get('DockerRootDir', '')}"


def base_rules(bridge: str, isolate: bool = False) -> tuple[tuple[str, list[str]], ...]:
    """(chain, rule) in order; each is added only when `iptables -C` does not find it.

    isolate: also drop traffic between containers of the network, for an engine whose bridge cannot
    be told so itself (Podman's has no enable_icc)."""
    between = (("FORWARD", ["-i", bridge, "-o", bridge, "-j", "DROP"]),) if isolate else ()
    return between + (
        ("INPUT", ["-i", bridge, "-j", CHAIN]),
        (CHAIN, ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"]),
        (CHAIN, ["-j", "REJECT", "--reject-with", "icmp-port-unreachable"]),
    )


class FirewallError(Exception):
    pass


def _iptables(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("iptables") is None:
        raise FirewallError("iptables is not installed (apt-get install iptables)")
    try:
        return subprocess.run(["iptables", "-w", "10", *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FirewallError(f"iptables failed to run: {exc}") from None


def _ensure(chain: str, rule: list[str], insert: bool) -> None:
    if _iptables("-C", chain, *rule).returncode == 0:
        return
    done = _iptables(*(["-I", chain, "1"] if insert else ["-A", chain]), *rule)
    if done.returncode != 0:
        raise FirewallError(done.stderr.strip() or f"iptables exit {done.returncode}")


def install_rules(bridge: str, isolate: bool = False) -> None:
    """The chain and its base rules, when missing (FirewallError when iptables cannot add them)."""
    made = _iptables("-N", CHAIN)
    if made.returncode != 0 and "exists" not in made.stderr:
        raise FirewallError(made.stderr.strip() or f"iptables exit {made.returncode}")
    for chain, rule in base_rules(bridge, isolate):
        _ensure(chain, rule, insert=chain != CHAIN)


class TaskNetwork:
    """One engine's task network and its firewall rules, made on first use (engine.Engine.network)."""

    isolate_by_rule = False  # drop container-to-container traffic with a FORWARD rule (the bridge cannot)

    def __init__(self, engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._network: str | None = None
        self._subnet: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
        self.firewall_on = False

    def create(self, client: docker.DockerClient) -> None:
        """Make TASK_NETWORK on a Linux bridge of its own, with no traffic between its containers."""
        client.networks.create(TASK_NETWORK, driver="bridge", labels={MANAGED_LABEL: "1"}, options={
            "com.docker.network.bridge.name": bridge_name(_engine_identity(client)),
            "com.docker.network.bridge.enable_icc": "false"})

    def bridge(self, client: docker.DockerClient, attrs: dict) -> str:
        """The Linux bridge of the made network, from its attributes."""
        return (attrs.get("Options") or {}).get("com.docker.network.bridge.name", "")

    def _ensure_network(self) -> tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network | None]:
        """Make the task network when missing; returns its Linux bridge and its subnet."""
        client = self.engine.client()
        if not client.networks.list(names=[TASK_NETWORK]):
            try:
                self.create(client)
            except docker.errors.APIError as exc:
                if exc.status_code != 409:  # 409: another process made it first
                    raise
        attrs = client.networks.get(TASK_NETWORK).attrs
        return self.bridge(client, attrs), _subnet_of(attrs)

    def name(self) -> str:
        """The network task containers join: TASK_NETWORK behind its firewall, or the engine's `bridge`
        (said once on stderr) when the network cannot be made; without the rules, also said once."""
        with self._lock:
            if self._network is not None:
                return self._network
            try:
                bridge, self._subnet = self._ensure_network()
                self._network = TASK_NETWORK
            except docker.errors.APIError as exc:
                self._network = "bridge"
                _say(f"the task network {TASK_NETWORK} could not be made ({exc.explanation or exc}); tasks use "
                     f"the bridge network of {self.engine.name} and can reach services on this host")
                return self._network
            try:
                if not bridge:
                    raise FirewallError(f"the network {TASK_NETWORK} names no Linux bridge")
                install_rules(bridge, self.isolate_by_rule)
                self.firewall_on = True
                self.prune()  # rules a killed run left behind
            except FirewallError as exc:
                _say(f"the task network's firewall could not be installed ({exc}); task containers can reach "
                     "services on this host (run as root with iptables to block them)")
            return self._network

    def prepare_in_background(self) -> None:
        """Make the task network and its rules in a thread, so that a run's first task does not wait for
        them (about 0.1 s of iptables calls); a failure is left for name() to raise or say."""
        def prepare() -> None:
            try:
                self.name()
            except Exception:  # e.g. the engine went away: the first task meets it and says so
                pass

        threading.Thread(target=prepare, name="task-network", daemon=True).start()

    def allow(self, container_ip: str, port: int) -> list[str] | None:
        """Let one container reach one TCP port of the host (its relay); returns the rule for `revoke`."""
        if not self.firewall_on:
            return None
        rule = ["-s", container_ip, "-p", "tcp", "--dport", str(port), "-j", "ACCEPT"]
        if _iptables("-I", CHAIN, "1", *rule).returncode != 0:
            return None
        return rule

    def prune(self) -> list[str]:
        """Delete the ACCEPT rules of containers no longer on the task network (their process was killed
        before its sandbox closed); returns the rules deleted. A live container's rules stay."""
        try:
            attrs = self.engine.client().networks.get(TASK_NETWORK).attrs
            listed = _iptables("-S", CHAIN)
        except (docker.errors.NotFound, FirewallError):
            return []
        # The chain is shared by every engine on the host: only this network's addresses are this engine's.
        self._subnet = self._subnet or _subnet_of(attrs)
        if self._subnet is None:
            return []
        live = {c.get("IPv4Address", "").split("/")[0] for c in (attrs.get("Containers") or {}).values()}
        removed = []
        for line in listed.stdout.splitlines():
            parts = line.split()
            if not (parts[:2] == ["-A", CHAIN] and "-s" in parts):
                continue
            source = parts[parts.index("-s") + 1].split("/")[0]
            if source not in live and self._ours(source):
                if _iptables("-D", *parts[1:]).returncode == 0:
                    removed.append(" ".join(parts[1:]))
        return removed

    def _ours(self, address: str) -> bool:
        """Whether an address is on this engine's task network (another engine's rules are its own business)."""
        try:
            return self._subnet is not None and ipaddress.ip_address(address) in self._subnet
        except ValueError:
            return False


def _subnet_of(attrs: dict) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    subnet = next((c.get("Subnet", "") for c in (attrs.get("IPAM") or {}).get("Config") or []), "")
    return ipaddress.ip_network(subnet) if subnet else None


def revoke(rule: list[str]) -> None:
    try:
        _iptables("-D", CHAIN, *rule)
    except FirewallError:
        pass


def _say(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)
