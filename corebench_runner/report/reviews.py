"""Who settled which answer, when and why: every verdict in the store, for run pages and the review log.

Every row says who made it: a person (on the command line or the review page), triage accepted by a person,
an import of a person's verdict from another store, or a machine (a shortcut monitor, the provenance check,
a regrade). Pages count people's verdicts apart from machines' flags: a monitor's flag is never a person's.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from corebench_runner.models.names import display_name
from corebench_runner.report.data import records_of, slug
from corebench_runner.store.database import Store
from corebench_runner.store.frames import reviews_frame

# reviews.source -> (kind, words a page shows). Kinds "person", "triage" and "import" are people's verdicts.
MADE_BY = {
    "cli": ("person", "a person"),
    "web": ("person", "a person on the review page"),
    "triage accepted": ("triage", "triage accepted by a person"),
    "import": ("import", "a person's verdict, imported"),
    "monitor": ("machine", "shortcut monitor"),
    "provenance": ("machine", "provenance check"),
    "regrade": ("machine", "regrade"),
}
PEOPLE_KINDS = ("person", "triage", "import")


def made_by(source: str | None) -> tuple[str, str]:
    """(kind, label) of a verdict's maker; an unknown source is a machine's, never credited to a person."""
    return MADE_BY.get(source or "", ("machine", f"machine ({source or 'unknown'})"))


def verdicts(store: Store) -> pd.DataFrame:
    """Every review row, newest first, with the answer, task and run it settles and whether it still stands."""
    frame = reviews_frame(store)
    frame["standing"] = frame["standing"].astype(bool)
    frame["model"] = frame["model"].map(display_name)  # by name, never a scripted session's local path
    frame["run_slug"] = frame["run_id"].map(slug)
    frame["when"] = pd.to_datetime(frame["created"], utc=True, format="ISO8601").dt.strftime("%Y-%m-%d %H:%M UTC")
    makers = [made_by(source) for source in frame["source"]]
    frame["made_by"] = [kind for kind, _ in makers]
    frame["made_by_label"] = [label for _, label in makers]
    frame["by_person"] = frame["made_by"].isin(PEOPLE_KINDS)
    return frame


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many verdicts people gave and how many flags machines raised, for a page's headline."""
    people = sum(1 for row in rows if row["by_person"])
    return {"people": people, "machines": len(rows) - people}


def by_run(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Verdicts grouped by run id, oldest first (the order they were given in)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in reversed(records_of(frame)):
        grouped.setdefault(record["run_id"], []).append(record)
    return grouped


def by_answer(frame: pd.DataFrame) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for record in reversed(records_of(frame)):
        grouped.setdefault(record["answer_id"], []).append(record)
    return grouped
