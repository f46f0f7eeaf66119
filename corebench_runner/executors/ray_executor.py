"""The Ray executor: tasks run on the nodes of a Ray cluster; results come back to the driver.

Nodes that can run containers advertise a custom resource named "docker" (start them with
`ray start --resources '{"docker": 4}'`); when any node does, every task asks for one unit of
it, so tasks land only on nodes with Docker and at most that many run per node. Without such
a node, tasks are scheduled by CPU like any Ray task.

A small actor on the driver's node (RunControl) is each worker's link to the driver
(executors/__init__.py's DriverLink). It carries the stop: it holds whether the run was stopped,
each task's worker asks it every half second, and when it says so, sets the Event its services'
cancellation is and runs the driver's `on_stop(job)` beside the task (which removes the task's
container there), so the task returns at once with what it spent. It carries messages back: a
worker's build notes and model calls are posted to it as they happen; the driver takes them every
half second while it waits for results (and all of a job's before that job's result, which the
worker returns only once the actor has them) and hands each to its services' `deliver`, which
writes a usage row or notes a build line. The same actor knows which node runs each job, so a job
whose node or worker died is reported as WorkerLost naming that node.

Ray's own log lines (its "ray" logger: token warnings, "Started a local Ray instance" ...) go to
ray_log_path(), not the terminal; each node keeps its processes' logs in its Ray session folder.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable

import platformdirs

from corebench_runner.errors import UserError
from corebench_runner.executors import WorkerLost
from corebench_runner.settings import APP_NAME

DOCKER_RESOURCE = "docker"
# A Ray instance started by us is small: the object store carries only results and tarballs.
LOCAL_OBJECT_STORE_BYTES = 200 * 1024 * 1024
# How often a task's worker asks whether the run was stopped.
STOP_POLL_SECONDS = 0.5
# How long a task that returned waits for its on_stop to finish.
STOP_WAIT_SECONDS = 30.0
RAY_LOG_ENV = "COREBENCH_RAY_LOG"
# Where Ray keeps each node's own logs (raylet, workers), unless `ray start --temp-dir` says otherwise.
RAY_SESSION_LOGS = "/tmp/ray/session_latest/logs"


def ray_log_path() -> Path:
    """The file the driver's Ray log lines go to: $COREBENCH_RAY_LOG, else ray.log in the user log folder."""
    return Path(os.environ.get(RAY_LOG_ENV) or Path(platformdirs.user_log_dir(APP_NAME)) / "ray.log")


class RunControl:
    """Lives as an actor on the driver's node: whether the run was stopped, where each job runs, and the
    messages workers sent the driver that it has not taken yet."""

    def __init__(self) -> None:
        self._stopped = False
        self._where: dict[int, tuple[str, str]] = {}
        self._mail: list[Any] = []

    def post(self, message: Any) -> None:
        self._mail.append(message)

    def take(self) -> list[Any]:
        mail, self._mail = self._mail, []
        return mail

    def started(self, key: int, node_id: str, address: str) -> None:
        self._where[key] = (node_id, address)

    def stop(self) -> None:
        self._stopped = True

    def stopped(self) -> bool:
        return self._stopped

    def where(self, key: int) -> tuple[str, str] | None:
        return self._where.get(key)


class _ActorLink:
    """A worker's DriverLink through the RunControl actor (in the worker's process)."""

    def __init__(self, control: Any) -> None:
        self.stopped = threading.Event()
        self._control = control
        self._sent: list[Any] = []
        self._lock = threading.Lock()

    def send(self, message: Any) -> None:
        with self._lock:  # calls of one caller reach the actor in the order made
            self._sent.append(self._control.post.remote(message))

    def flush(self, ray: Any) -> None:
        """Until the actor holds every message sent, so the driver takes them before it sees the result."""
        with self._lock:
            sent, self._sent = self._sent, []
        if sent:
            try:
                ray.get(sent, timeout=30)
            except Exception:  # the driver's node is gone: nobody is left to read them
                pass


def _run_watched(fn: Callable[[Any, Any], Any], on_stop: Callable[[Any], None] | None, stand_in: Any,
                 control: Any, key: int, job: Any) -> Any:
    """What a Ray worker runs for a job: fn(job, services) over its link to the driver, with a thread that
    sets the link's stop and runs on_stop(job) once the run stops."""
    import ray

    control.started.remote(key, ray.get_runtime_context().get_node_id(), ray.util.get_node_ip_address())
    link = _ActorLink(control)
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(STOP_POLL_SECONDS):
            try:
                stopped = ray.get(control.stopped.remote(), timeout=10)
            except Exception:  # the driver's node is gone: the task's own limits still end it
                continue
            if stopped:
                link.stopped.set()  # the task starts nothing more
                if on_stop is not None:
                    on_stop(job)
                return

    watcher = threading.Thread(target=watch, name="corebench-stop-watch", daemon=True)
    watcher.start()
    try:
        return fn(job, stand_in.attach(link) if stand_in is not None else None)
    finally:
        finished.set()
        # An on_stop under way (removing the task's container) ends before the result leaves: Ray may end
        # this process as soon as the driver has it.
        watcher.join(timeout=STOP_WAIT_SECONDS)
        link.flush(ray)


class RayExecutor:
    def __init__(self, fn: Callable[[Any, Any], Any], slots: int, address: str | None = None,
                 on_stop: Callable[[Any], None] | None = None, services: Any = None) -> None:
        try:
            import ray
        except ImportError:
            raise UserError("--executor ray needs Ray: pip install 'corebench-runner[ray]'") from None
        self._ray = ray
        self.slots = slots
        self._started_here = False
        if not ray.is_initialized():
            if address:
                _check_reachable(address)
            _ray_logs_to_file()
            with _signal_handlers_kept():
                try:
                    if address:
                        ray.init(address=address, log_to_driver=False)
                    else:
                        # "local": a new instance, as documented; without it ray.init joins any cluster
                        # this machine already runs (and refuses object_store_memory for it).
                        ray.init(address="local", include_dashboard=False, log_to_driver=False,
                                 object_store_memory=LOCAL_OBJECT_STORE_BYTES)
                except (ConnectionError, RuntimeError) as exc:
                    if _refused_token(exc):
                        raise UserError(f"--ray-address {address}: the Ray cluster uses token authentication and "
                                        "refused this process; run with RAY_AUTH_MODE=token and the cluster's token "
                                        "in ~/.ray/auth_token (or $RAY_AUTH_TOKEN)") from None
                    raise UserError(f"--ray-address {address}: cannot join the Ray cluster ({exc}); "
                                    "check the address printed by `ray start --head`") from None
            self._started_here = True
        options: dict[str, Any] = {"max_retries": 0}
        self._docker_nodes_only = bool(ray.cluster_resources().get(DOCKER_RESOURCE))
        if self._docker_nodes_only:
            options.update(num_cpus=0, resources={DOCKER_RESOURCE: 1})
        else:
            options.update(num_cpus=1)
        self._fn = fn
        self._on_stop = on_stop
        self._services = services
        self._stand_in = services.elsewhere() if services is not None else None
        self._remote = ray.remote(**options)(_run_watched)
        self._control = _start_control(ray)
        self._keys = itertools.count()
        self._running: dict[Any, tuple[Any, int]] = {}

    def submit(self, job: Any) -> None:
        key = next(self._keys)
        self._running[self._remote.remote(self._fn, self._on_stop, self._stand_in, self._control, key, job)] = (job, key)

    def in_flight(self) -> int:
        return len(self._running)

    def next_result(self) -> tuple[Any, Any]:
        if not self._running:
            raise RuntimeError("next_result() with nothing submitted")
        ready: list[Any] = []
        while not ready:
            ready, _ = self._ray.wait(list(self._running), num_returns=1, timeout=STOP_POLL_SECONDS)
            self._deliver_mail()  # after the wait: a finished job's messages all reached the actor first
        ref = ready[0]
        job, key = self._running.pop(ref)
        try:
            return job, self._ray.get(ref)
        except _worker_deaths(self._ray) as exc:
            return job, self._lost(key, exc)

    def _lost(self, key: int, exc: BaseException) -> WorkerLost:
        """Name the node a dead job ran on, and whether the whole node is gone or only its worker."""
        text = " ".join(str(exc).split())
        why = f"{type(exc).__name__}: {text.split('. ')[0].rstrip('.') if text else 'no message'}"
        # Ray names a dead node in its error; else the job said where it started.
        named = re.search(r"Node IP: ([^,\s]+), node ID: ([0-9a-f]+)", text)
        place = (named.group(2), named.group(1)) if named else self._where(key)
        if place is None:
            return WorkerLost(where="the Ray worker (on a node that never reported)", why=why)
        node_id, address = place
        node_gone = isinstance(exc, (self._ray.exceptions.NodeDiedError, self._ray.exceptions.LocalRayletDiedError)) \
            or not any(n.get("NodeID") == node_id and n.get("Alive") for n in self._ray.nodes())
        what = "Ray node" if node_gone else "the Ray worker on node"
        return WorkerLost(where=f"{what} {node_id} ({address})", why=why)

    def _deliver_mail(self) -> None:
        """What workers sent since the last time, to the driver's services, in the order it arrived."""
        try:
            mail = self._ray.get(self._control.take.remote(), timeout=10)
        except Exception:  # the actor's node is gone; the results still carry their usage
            return
        for message in mail:
            if self._services is not None:
                self._services.deliver(message)

    def _where(self, key: int) -> tuple[str, str] | None:
        try:
            return self._ray.get(self._control.where.remote(key), timeout=10)
        except Exception:
            return None

    def on_every_node(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """One run of fn(*args) pinned to each live node that tasks may land on."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = [n["NodeID"] for n in self._ray.nodes() if n.get("Alive")
                 and (not self._docker_nodes_only or n.get("Resources", {}).get(DOCKER_RESOURCE))]
        remote = self._ray.remote(num_cpus=0, max_retries=0)(fn)
        refs = [remote.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(*args)
                for node in nodes]
        return self._ray.get(refs)

    def stop_workers(self) -> None:
        try:
            self._ray.get(self._control.stop.remote(), timeout=10)
        except Exception:  # the actor's node is gone; close() still cancels the tasks through Ray
            pass

    def drain(self, seconds: float) -> list[tuple[Any, Any]]:
        if not self._running:
            self._deliver_mail()
            return []
        until = time.monotonic() + seconds
        ready: list[Any] = []
        while True:
            left = until - time.monotonic()
            ready, _ = self._ray.wait(list(self._running), num_returns=len(self._running),
                                      timeout=max(0.0, min(STOP_POLL_SECONDS, left)))
            self._deliver_mail()
            if len(ready) == len(self._running) or left <= 0:
                break
        returned = []
        for ref in ready:
            job, _ = self._running.pop(ref)
            try:
                returned.append((job, self._ray.get(ref, timeout=seconds)))
            except Exception:  # it failed or its worker died: nothing came back
                pass
        return returned

    def close(self) -> None:
        self._deliver_mail()  # what stopped workers sent before they were cancelled
        for ref in list(self._running):
            self._ray.cancel(ref)  # not forced: the task's finally still closes its sandbox
        self._running.clear()
        try:
            self._ray.kill(self._control)
        except Exception:
            pass
        if self._started_here:
            self._ray.shutdown()


def _start_control(ray: Any) -> Any:
    """The RunControl actor, pinned to the driver's node so that losing a worker node never loses it."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    actor = ray.remote(num_cpus=0, max_restarts=0)(RunControl)
    try:
        here = ray.get_runtime_context().get_node_id()
        actor = actor.options(scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False))
    except Exception:  # a Ray Client driver has no node of its own
        pass
    return actor.remote()


def _worker_deaths(ray: Any) -> tuple[type[BaseException], ...]:
    """Ray's errors for a job whose worker process or node died under it (never the job's own exception)."""
    exceptions = ray.exceptions
    return tuple(getattr(exceptions, name) for name in (
        "WorkerCrashedError", "NodeDiedError", "LocalRayletDiedError", "ObjectLostError")
        if hasattr(exceptions, name))


class _signal_handlers_kept:
    """ray.init installs its own SIGTERM handler in the driver (sys.exit, and on a local instance a
    teardown that aborts with a native stack dump), which would defeat the run's: put ours back."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __enter__(self) -> None:
        self._main = threading.current_thread() is threading.main_thread()
        self._kept = {sig: signal.getsignal(sig) for sig in self.SIGNALS} if self._main else {}

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._kept.items():
            if handler is not None:
                signal.signal(sig, handler)


def _ray_logs_to_file() -> None:
    """Ray's driver-side log lines go to ray_log_path(), so --quiet and the progress bar show only ours."""
    path = ray_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()  # an unwritable log folder must not stop the run
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(filename)s:%(lineno)s: %(message)s"))
    ray_logger = logging.getLogger("ray")
    for old in list(ray_logger.handlers):
        ray_logger.removeHandler(old)
    ray_logger.addHandler(handler)
    ray_logger.propagate = False
    # The driver prints the cluster's error messages ("(raylet) Raylet is terminated ...", a node marked dead)
    # straight to stdout from a thread of its own; they belong in the same file.
    import ray._private.worker as ray_worker

    if hasattr(ray_worker, "print_to_stdstream"):
        ray_worker.print_to_stdstream = _to_ray_log


def _to_ray_log(data: dict[str, Any], ignore_prefix: bool = False) -> None:
    lines = data.get("lines") or []
    logging.getLogger("ray").warning("(%s) %s", data.get("pid", "ray"), "\n".join(str(line) for line in lines))


def _refused_token(exc: BaseException | None) -> bool:
    """ray.init's error, or one it was raised from, is the cluster refusing a missing or wrong token."""
    while exc is not None:
        if "InvalidAuthToken" in str(exc) or type(exc).__name__ == "AuthenticationError":
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _check_reachable(address: str) -> None:
    """Fail in seconds, not minutes, when nothing listens at HOST:PORT (ray.init keeps retrying)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise UserError(f"--ray-address {address}: nothing answers there ({exc.strerror or exc}); "
                        "check the address printed by `ray start --head`") from None


def ray_executor(fn: Callable[[Any, Any], Any], slots: int, address: str | None = None,
                 on_stop: Callable[[Any], None] | None = None, services: Any = None) -> RayExecutor:
    """The `ray` executor plugin (entry point): the cluster at `address`, or a local one started here;
    `on_stop(job)` runs beside a task on its node when the run is stopped; each task gets `services`
    attached over its link to the driver."""
    return RayExecutor(fn, slots, address=address, on_stop=on_stop, services=services)
