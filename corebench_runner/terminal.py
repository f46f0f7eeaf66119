"""Text an agent wrote, made safe to print on a terminal: one helper for every command that prints it.

An agent controls what it writes (answers, commands, outputs, flag evidence, error text). Printed
raw, an escape sequence in it is obeyed by the terminal: a title set (OSC 0/2), a link that hides
where it leads (OSC 8), the screen cleared or rewritten (CSI), the clipboard set (OSC 52). So every
control character but tab and newline is spelled out (`\\x1b`), C1 controls (0x80-0x9f, which some
terminals obey as ESC [) included.
"""

from __future__ import annotations

import json
import re
from typing import Any

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # every control character but tab and newline
_C1 = re.compile(r"[\x7f-\x9f]")  # json.dumps escapes C0 controls itself, not these


def printable(text: str) -> str:
    """Agent-written text with control characters shown, not obeyed."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def printable_json(data: Any, indent: int | None = 2) -> str:
    """JSON for a terminal: the same document, with DEL and C1 controls inside strings written as
    \\u escapes (json.dumps writes C0 controls so already), so it parses to the same values."""
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(data, indent=indent, ensure_ascii=False))
