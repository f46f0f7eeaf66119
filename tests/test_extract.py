"""Answer extraction from a capsule's own outputs (the oracle's and health check's reader)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corebench_runner.capsules.extract import ExtractionError, extract_answers
from corebench_runner.records import OracleSpec


def reader_for(folder: Path):
    return lambda rel: (folder / rel).read_bytes()


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "metrics.json").write_text(json.dumps(
        {"model": {"test": {"accuracy": 0.9312}}, "losses": [2.5, 1.25, 0.75], "name": "ridge"}))
    (tmp_path / "results" / "log.txt").write_text("epoch 1 loss 2.5\nfinal RMSE: 3.142\nseed=7 done\n")
    (tmp_path / "results" / "table.csv").write_text("model,accuracy,f1\nbaseline,0.71,0.66\nours,0.83,0.80\n")
    return tmp_path


def test_reads_json_paths_regex_groups_and_csv_cells(outputs: Path):
    spec = OracleSpec(reproduce="true", extract={
        "Report the test accuracy.": {"file": "results/metrics.json", "key": "model.test.accuracy"},
        "Report the final loss.": {"file": "results/metrics.json", "key": "losses.2"},
        "Which model?": {"file": "results/metrics.json", "key": "name"},
        "Report the RMSE.": {"file": "results/log.txt", "regex": r"RMSE: ([0-9.]+)"},
        "Report the seed.": {"file": "results/log.txt", "regex": r"seed=(\d+)"},
        "Report the F1 of ours.": {"file": "results/table.csv", "csv": {"row": "ours", "column": "f1"}},
        "Report the first accuracy.": {"file": "results/table.csv", "csv": {"row": 0, "column": 1}},
    })
    answers = extract_answers(spec, reader_for(outputs))
    assert answers == {
        "Report the test accuracy.": 0.9312,
        "Report the final loss.": 0.75,
        "Which model?": "ridge",
        "Report the RMSE.": 3.142,
        "Report the seed.": 7,
        "Report the F1 of ours.": 0.80,
        "Report the first accuracy.": 0.71,
    }
    assert isinstance(answers["Report the seed."], int)


def test_regex_without_group_returns_whole_match_and_text_stays_text(tmp_path: Path):
    (tmp_path / "out.txt").write_text("best optimizer: adam\n")
    spec = OracleSpec("true", {"Best optimizer?": {"file": "out.txt", "regex": r"(?<=optimizer: )\w+"}})
    assert extract_answers(spec, reader_for(tmp_path)) == {"Best optimizer?": "adam"}


@pytest.mark.parametrize("rule, fragment", [
    ({"file": "results/metrics.json", "key": "model.train.accuracy"}, "no key 'train'"),
    ({"file": "results/metrics.json", "key": "losses.9"}, "no list item '9'"),
    ({"file": "results/log.txt", "regex": r"MAE: ([0-9.]+)"}, "no match for regex"),
    ({"file": "results/table.csv", "csv": {"row": "theirs", "column": "f1"}}, "no row 'theirs'"),
    ({"file": "results/table.csv", "csv": {"row": "ours", "column": "recall"}}, "no column 'recall'"),
    ({"file": "results/log.txt", "key": "a"}, "not valid JSON"),
    ({"file": "results/log.txt", "key": "a", "regex": "x"}, "exactly one of"),
])
def test_failures_name_the_question_and_the_file(outputs: Path, rule, fragment):
    spec = OracleSpec("true", {"Report the thing.": rule})
    with pytest.raises(ExtractionError) as caught:
        extract_answers(spec, reader_for(outputs))
    message = str(caught.value)
    assert "'Report the thing.'" in message
    assert rule["file"] in message
    assert fragment in message
    assert caught.value.missing_file is False


def test_missing_output_file_is_flagged_as_missing(outputs: Path):
    spec = OracleSpec("true", {"Q?": {"file": "results/never_written.json", "key": "a"}})
    with pytest.raises(ExtractionError) as caught:
        extract_answers(spec, reader_for(outputs))
    assert caught.value.missing_file
    assert "results/never_written.json" in str(caught.value)
    assert "did the reproduce command write it?" in str(caught.value)
