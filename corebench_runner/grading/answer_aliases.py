"""CORE-Bench v1.1's answer aliases, read from the encrypted table shipped in package data.

The table (answer_aliases[capsule_id][question] = accepted strings, list_answer_aliases[...] =
accepted sets) is kept gpg-encrypted, as upstream ships its answers, and decrypted in memory
the first time a grader needs it. It lives with the graders, never in a capsule or workspace.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

from corebench_runner.errors import UserError
from corebench_runner.grading.official_rule_v11 import NO_ALIASES, QuestionAliases

ALIASES_FILE = Path(__file__).resolve().parent.parent / "data" / "answer_aliases_v1.1.json.gpg"


@dataclass(frozen=True)
class AliasTable:
    strings: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    lists: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = field(default_factory=dict)

    def for_question(self, capsule_id: str, question: str) -> QuestionAliases:
        strings = self.strings.get(capsule_id, {}).get(question)
        lists = self.lists.get(capsule_id, {}).get(question)
        if strings is None and lists is None:
            return NO_ALIASES
        return QuestionAliases(strings=strings, lists=lists)


def parse_alias_table(data: object, source: str) -> AliasTable:
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected an object with answer_aliases and list_answer_aliases")
    try:
        strings = {cid: {q: tuple(str(a) for a in accepted) for q, accepted in questions.items()}
                   for cid, questions in data.get("answer_aliases", {}).items()}
        lists = {cid: {q: tuple(tuple(str(a) for a in subset) for subset in subsets)
                       for q, subsets in questions.items()}
                 for cid, questions in data.get("list_answer_aliases", {}).items()}
    except (AttributeError, TypeError) as exc:
        raise UserError(f"{source}: malformed alias table ({exc}); restore it from the package") from None
    return AliasTable(strings, lists)


@functools.lru_cache(maxsize=1)
def v11_aliases() -> AliasTable:
    """The shipped v1.1 alias table (decrypted once per process)."""
    from corebench_runner.capsules.corebench_import import decrypt

    if not ALIASES_FILE.is_file():
        raise UserError(f"{ALIASES_FILE}: missing; reinstall corebench-runner (the v1.1 alias table ships with it)")
    raw = decrypt(ALIASES_FILE)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{ALIASES_FILE}: not valid JSON after decryption; restore it from the package") from None
    return parse_alias_table(data, str(ALIASES_FILE))
