"""Sharing verdicts between stores as JSON lines: one verdict per line, author and time kept.

An answer is matched across stores by (run id, capsule id, repeat, question), since answer
ids are local to a store. Import never merges silently: a verdict already present is
skipped, and an answer on which this store holds a person's verdict the file lacks while
the two end on different statuses is a conflict: reported, and left as it was for a person
to settle.

Set-aside decisions (store/set_asides.py) travel in the same file, one per line with their own
format tag, matched by (suite, capsule, question); each keeps its author and time, and the latest
decision by time stands in every store, so importing never needs to merge them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from corebench_runner.errors import UserError
from corebench_runner.review.verdicts import (
    HUMAN_SOURCES,
    STATUSES,
    AnswerKey,
    ReviewRecord,
    answer_id_for,
    history,
    review_log,
)
from corebench_runner.store.database import Store, get_run
from corebench_runner.store.runs import run_capsule_ids
from corebench_runner.store.set_asides import SetAside, add_imported, set_aside_history
from corebench_runner.store.suites import capsule_suite
from corebench_runner.store.verdicts import add_review

FORMAT = "corebench-verdict/1"
SET_ASIDE_FORMAT = "corebench-set-aside/1"
_SET_ASIDE_FIELDS = ("suite", "capsule_id", "question", "active", "reviewer", "created", "reason")
_FIELDS = ("run_id", "capsule_id", "repeat", "question", "reviewer", "created", "old_status", "new_status",
           "reason", "source")


@dataclass(frozen=True)
class SharedVerdict:
    key: AnswerKey
    reviewer: str
    created: str
    old_status: str
    new_status: str
    reason: str
    source: str

    def identity(self) -> tuple[str, str, str, str, str]:
        """Same author, time, change and reason: the same verdict, whichever store holds it."""
        return (self.reviewer, self.created, self.old_status, self.new_status, self.reason)


def _identity(record: ReviewRecord) -> tuple[str, str, str, str, str]:
    return (record.reviewer, record.created, record.old_status, record.new_status, record.reason)


def export_verdicts(store: Store, path: Path, *, run_id: str | None = None) -> tuple[int, int]:
    """Write every verdict and set-aside decision (optionally those touching one run) to `path`, oldest
    first; returns how many of each."""
    entries = review_log(store, run_id=run_id)
    decisions = set_aside_history(store, _suites_of_run(store, run_id) if run_id else None)
    if run_id:
        capsules = set(run_capsule_ids(store, get_run(store, run_id)["id"]))
        decisions = [d for d in decisions if d.capsule_id in capsules]
    with path.open("w", encoding="utf-8") as out:
        for entry in entries:
            key, rec = entry.key, entry.record
            line = {"format": FORMAT, "run_id": key.run_id, "capsule_id": key.capsule_id, "repeat": key.repeat,
                    "question": key.question, "reviewer": rec.reviewer, "created": rec.created,
                    "old_status": rec.old_status, "new_status": rec.new_status, "reason": rec.reason,
                    "source": rec.source}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        for decision in decisions:
            line = {"format": SET_ASIDE_FORMAT, **{name: getattr(decision, name) for name in _SET_ASIDE_FIELDS}}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return len(entries), len(decisions)


def _suites_of_run(store: Store, run_id: str) -> set[str]:
    run = get_run(store, run_id)
    config = json.loads(run["config_json"] or "{}")
    return {capsule_suite(config, capsule_id) for capsule_id in run_capsule_ids(store, run["id"])}


def read_verdicts(path: Path) -> list[SharedVerdict]:
    """The verdicts of a verdicts file (its set-aside decisions left out)."""
    return read_exchange(path)[0]


def read_exchange(path: Path) -> tuple[list[SharedVerdict], list[SetAside]]:
    """Parse a verdicts file; a bad line is a UserError naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file; pass the file written by `corebench review export`") from None
    verdicts = []
    decisions: list[SetAside] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{where}: not JSON ({exc.msg}); the file must hold one verdict per line") from None
        if isinstance(data, dict) and data.get("format") == SET_ASIDE_FORMAT:
            decisions.append(_set_aside(data, where))
            continue
        if not isinstance(data, dict) or any(name not in data for name in _FIELDS):
            missing = [n for n in _FIELDS if not isinstance(data, dict) or n not in data]
            raise UserError(f"{where}: not a verdict (missing {', '.join(missing)}); "
                            "use a file written by `corebench review export`")
        if data["new_status"] not in STATUSES or data["old_status"] not in STATUSES:
            raise UserError(f"{where}: status must be one of {', '.join(STATUSES)}")
        verdicts.append(SharedVerdict(
            AnswerKey(str(data["run_id"]), str(data["capsule_id"]), int(data["repeat"]), str(data["question"])),
            str(data["reviewer"]), str(data["created"]), data["old_status"], data["new_status"],
            str(data["reason"]), str(data["source"])))
    return verdicts, decisions


def _set_aside(data: dict, where: str) -> SetAside:
    missing = [name for name in _SET_ASIDE_FIELDS if name not in data]
    if missing or not isinstance(data["active"], bool) or not str(data["reason"]).strip():
        raise UserError(f"{where}: not a set-aside decision (missing or bad {', '.join(missing) or 'active/reason'}); "
                        "use a file written by `corebench review export`")
    return SetAside(0, str(data["suite"]), str(data["capsule_id"]), str(data["question"]), data["active"],
                    str(data["reviewer"]), str(data["created"]), str(data["reason"]), "import")


@dataclass(frozen=True)
class Conflict:
    key: AnswerKey
    answer_id: int
    ours: ReviewRecord  # the standing verdict here
    theirs: SharedVerdict  # the latest verdict in the file


@dataclass
class ImportResult:
    imported: int = 0
    already_present: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    unmatched: list[AnswerKey] = field(default_factory=list)
    set_asides_imported: int = 0
    set_asides_present: int = 0


def import_verdicts(store: Store, path: Path) -> ImportResult:
    """Add the file's verdicts to the store, keeping author and time; see the module doc for conflicts."""
    verdicts, decisions = read_exchange(path)
    incoming: dict[AnswerKey, list[SharedVerdict]] = {}
    for verdict in verdicts:
        incoming.setdefault(verdict.key, []).append(verdict)
    result = ImportResult()
    with store.transaction() as conn:
        # A decision on a capsule this store never ran is kept too: it applies when such a run arrives.
        result.set_asides_imported, result.set_asides_present = add_imported(conn, decisions)
        accepted: dict[AnswerKey, int] = {}  # answer id of each key whose new verdicts go in
        for key, theirs in incoming.items():
            answer_id = answer_id_for(store, key)
            if answer_id is None:
                result.unmatched.append(key)
                continue
            ours = history(store, answer_id)
            our_ids = {_identity(r) for r in ours}
            their_ids = {v.identity() for v in theirs}
            new = [v for v in theirs if v.identity() not in our_ids]
            result.already_present += len(theirs) - len(new)
            if not new:
                continue
            # Only a person's verdict can conflict: a local regrade row is the grader's and gives way.
            ours_only = [r for r in ours if _identity(r) not in their_ids and r.source in HUMAN_SOURCES]
            if ours_only and ours[-1].new_status != theirs[-1].new_status:
                result.conflicts.append(Conflict(key, answer_id, ours[-1], theirs[-1]))
                continue
            accepted[key] = answer_id
        present = {(key, _identity(r)) for key, aid in accepted.items() for r in history(store, aid)}
        for verdict in verdicts:  # in file order, so the trail reads as it did in the other store
            if verdict.key not in accepted or (verdict.key, verdict.identity()) in present:
                continue
            # A person's verdict arrives as "import"; a machine's row (regrade, monitor) keeps its source.
            source = "import" if verdict.source in HUMAN_SOURCES else verdict.source
            add_review(conn, accepted[verdict.key], reviewer=verdict.reviewer, created=verdict.created,
                       old_status=verdict.old_status, new_status=verdict.new_status, reason=verdict.reason,
                       source=source)
            present.add((verdict.key, verdict.identity()))
            result.imported += 1
    return result

