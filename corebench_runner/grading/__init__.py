"""Grading: one loop over a report (loop.py) with any grader plugin; the official CORE-Bench rules
(official_rule.py, official_rule_v11.py with answer_aliases.py), the tolerance people expect
(tolerance.py, and the one dispute engine both tolerant graders use: disputes.py and its
dispute_*.py finders), and upstream's task files (tasks_json.py).

The names grader plugins import from `corebench_runner.grading` are re-exported here.
"""

from corebench_runner.grading.loop import (
    NOT_REPORTED,
    PLAUSIBLE,
    Grader,
    QuestionGrade,
    ReportGrade,
    grade_report,
    grader_for,
    misnamed_key_verdict,
)

__all__ = ["NOT_REPORTED", "PLAUSIBLE", "Grader", "QuestionGrade", "ReportGrade", "grade_report", "grader_for",
           "misnamed_key_verdict"]
