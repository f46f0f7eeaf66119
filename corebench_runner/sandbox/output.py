"""Capped output collection shared by the sandboxes: keep the first N bytes, count the rest.

A command that prints a gigabyte must not cost the host a gigabyte: past the cap, chunks are
counted and dropped as they arrive.
"""

from __future__ import annotations


class CappedOutput:
    def __init__(self, cap_bytes: int) -> None:
        self.cap = cap_bytes
        self.kept = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap - len(self.kept)
        if room > 0:
            self.kept += chunk[:room]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.kept)

    def text(self) -> str:
        """The kept bytes as text, with a last line saying how much was dropped (agents read this)."""
        text = self.kept.decode("utf-8", errors="replace")
        if self.truncated:
            text += f"\n[corebench: output truncated; {self.total - len(self.kept)} of {self.total} bytes dropped]\n"
        return text
