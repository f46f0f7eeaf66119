"""One TLS context for every model client of the process.

Each SDK client would otherwise build its own and read the machine's CA store again: ~40 ms of
CPU per client, one client per task, all while other tasks' containers start. The context is
made as the SDKs' HTTP stack makes its default one: $SSL_CERT_FILE or $SSL_CERT_DIR if set, else
the system store. An SSLContext may be shared by threads once it is set up.
"""

from __future__ import annotations

import functools
import ssl


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()  # reads $SSL_CERT_FILE / $SSL_CERT_DIR, else the system store
