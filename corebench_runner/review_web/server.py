"""Run the review app on a local address until Ctrl-C: werkzeug's threaded server, one process, no build step."""

from __future__ import annotations

import ipaddress
import logging
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Callable

from werkzeug.serving import BaseWSGIServer, make_server

from corebench_runner.errors import UserError
from corebench_runner.review_web.app import create_app
from corebench_runner.review_web.pages import Filters

LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1"]


def loopback(host: str) -> bool:
    """Whether only this machine can reach the address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def trusted_hosts(host: str) -> list[str] | None:
    """Host headers the app answers: on a loopback address only its own names, so a web page whose
    domain is pointed at 127.0.0.1 (DNS rebinding) cannot read the pages and their token."""
    if loopback(host):
        return [host, *LOOPBACK_NAMES]
    try:
        if ipaddress.ip_address(host).is_unspecified:
            return None  # bound to every interface on purpose: reached by whatever name the machine has
    except ValueError:
        pass
    return [host]


def start(store_path: Path, defaults: Filters, reviewer: str, host: str = "127.0.0.1", port: int = 8765,
          suite_root: Path | None = None) -> tuple[BaseWSGIServer, Path]:
    """Bind the server (port 0: any free port); returns it and the folder of viewed figures to remove after."""
    viewed_dir = Path(tempfile.mkdtemp(prefix="corebench-review-"))
    app = create_app(store_path, defaults, reviewer, viewed_dir, suite_root)
    app.config["TRUSTED_HOSTS"] = trusted_hosts(host)
    # Bound here rather than by werkzeug, which answers a busy port by exiting with its own message.
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind((host, port))
        listener.listen(64)
    except OSError as exc:
        listener.close()
        shutil.rmtree(viewed_dir, ignore_errors=True)
        raise UserError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc}); "
                        "choose another port, or --port 0 for any free one") from None
    with listener:
        server = make_server(host, listener.getsockname()[1], app, threaded=True, fd=listener.fileno())
    return server, viewed_dir


def serve(store_path: Path, defaults: Filters, reviewer: str, host: str, port: int,
          suite_root: Path | None, announce: Callable[[str], None]) -> None:
    """Serve until Ctrl-C; `announce` receives the address to open."""
    server, viewed_dir = start(store_path, defaults, reviewer, host, port, suite_root)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the reviewer's terminal
    shown = f"[{host}]" if ":" in host else host
    try:
        announce(f"http://{shown}:{server.port}/")
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        shutil.rmtree(viewed_dir, ignore_errors=True)
