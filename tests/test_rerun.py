"""`--retry OUTCOMES` on a real store: tasks become pending again and keep what they were."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corebench_runner.errors import UserError
from corebench_runner.running.rerun import reset_for_retry
from corebench_runner.store.database import now_iso, open_store, tasks_to_resume
from support_store import QA, SampleTask, add_run, bash_call


def test_retried_tasks_are_pending_again_with_their_earlier_result_and_transcript_kept(tmp_path: Path):
    with open_store(tmp_path / "results.sqlite") as store:
        run_id = add_run(store, [
            SampleTask("capsule-a", [QA("q", 1, [1, 1, 1], "correct")]),
            SampleTask("capsule-b", [], outcome="no_report", transcript=[bash_call("ls", "nothing here")]),
            SampleTask("capsule-c", [], outcome="infra_error"),
        ])
        assert reset_for_retry(store, run_id, ["no_report", "infra_error"]) == 2
        pending = {row["capsule_id"]: row for row in tasks_to_resume(store, run_id)}
        assert sorted(pending) == ["capsule-b", "capsule-c"]
        b = pending["capsule-b"]
        assert (b["status"], b["outcome"], b["attempts"]) == ("pending", None, 1)  # the next claim is attempt 2
        (earlier,) = json.loads(b["details_json"])["earlier_attempts"]
        assert earlier["outcome"] == "no_report" and earlier["attempts"] == 1
        kept = store.artifacts_dir / earlier["transcript_path"]
        assert json.loads(kept.read_text())[0]["output"] == "nothing here"  # moved aside, not overwritten later
        assert ".earlier-1" in earlier["transcript_path"]
        # The correct task is untouched.
        assert store.query("SELECT outcome FROM tasks WHERE capsule_id = 'capsule-a'")[0][0] == "correct"


def test_a_task_with_reviews_is_not_retried(tmp_path: Path):
    with open_store(tmp_path / "results.sqlite") as store:
        run_id = add_run(store, [SampleTask("capsule-a", [QA("q", 2, [1, 1, 1], "incorrect")])])
        (answer_id,) = store.query("SELECT id FROM answers")[0]
        with store.transaction() as conn:
            conn.execute("INSERT INTO reviews (answer_id, reviewer, created, old_status, new_status, reason) "
                         "VALUES (?, 'ann', ?, 'incorrect', 'correct', 'checked')", (answer_id, now_iso()))
        with pytest.raises(UserError, match="capsule-a #0 .* has reviews"):
            reset_for_retry(store, run_id, ["incorrect"])
        assert store.query("SELECT status, outcome FROM tasks")[0][:] == ("done", "incorrect")  # nothing changed
