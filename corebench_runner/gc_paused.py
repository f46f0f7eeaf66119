"""Loading a large library without the garbage collector walking it again and again.

The model SDKs define thousands of classes at import (anthropic: ~1,500 pydantic models). While
they load, each of those allocations can set off a collection that walks everything made so far:
about a fifth of the import time (a median of 2.5 s against 1.9 s). Nothing made at import is
garbage, so collection waits until the import is done, and what it made is then moved out of the
collector's sight for good.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No collection inside the block; afterwards every object alive is frozen (gc.freeze) and
    collection resumes as it was. Meant for imports, whose objects live as long as the process."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
