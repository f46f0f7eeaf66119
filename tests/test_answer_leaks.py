"""`corebench capsule validate` warns when a reference answer stands in a file the agent sees."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from corebench_runner.capsules.answer_leaks import answer_leaks
from corebench_runner.capsules.format import load_capsule
from corebench_runner.cli import main
from support_capsules import good_capsule_doc, write_capsule


def _leaky_capsule(root: Path) -> Path:
    doc = good_capsule_doc("tiny")
    doc["questions"].append({"text": "Report the AUC of the first run.", "runs": [0.8412735, 0.8412735, 0.8412735]})
    doc["questions"].append({"text": "Report the median sepal length.", "runs": [5.84, 5.84, 5.84]})
    folder = write_capsule(root / "capsules", "tiny", doc)
    # The shipped code computes its answers instead of holding them.
    (folder / "code" / "analysis.py").write_text(
        "import json\nrows = [float(x) for x in open('data/petals.csv').read().split()[1:]]\n"
        "json.dump({'mean_petal_length': round(sum(rows) / len(rows), 4)}, open('results/summary.json', 'w'))\n")
    (folder / "code" / "notebook.ipynb").write_text('{"outputs": [{"text": "mean = 3.7333\\n"}]}')
    (folder / "REPRODUCING.md").write_text("Run it; the widest sepals belong to Setosa.\n")
    # Measurements: a short number (and a label) in a data table is there by chance, not a leak.
    (folder / "data" / "species.csv").write_text("species,sepal\nsetosa,5.84\nversicolor,1.2\n")
    (folder / "data" / "outputs.csv").write_text("run,auc\n1,0.8412735\n")  # a saved output of the paper
    (folder / "code" / "results").mkdir()
    (folder / "code" / "results" / "old.txt").write_text("3.7333")  # easy shows it by design; hard empties it
    (folder / "code" / "constants.py").write_text("SCALE = 13.73331\nOTHER = 3.73330\n")  # other numbers
    return folder


def test_validate_names_question_and_file_for_each_leak(tmp_path: Path):
    folder = _leaky_capsule(tmp_path)
    result = CliRunner().invoke(main, ["capsule", "validate", str(folder)])
    assert result.exit_code == 0, result.output  # a warning, not an error: the author decides
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 3, result.output
    data = next(w for w in warnings if "outputs.csv" in w)  # long numbers are looked for under data/ too
    assert "question 4" in data and "0.8412735" in data
    notebook = next(w for w in warnings if "notebook.ipynb" in w)
    assert "question 1" in notebook and "3.7333" in notebook and "level easy, medium, hard" in notebook
    readme = next(w for w in warnings if "REPRODUCING.md" in w)
    assert "question 2" in readme and "'setosa'" in readme and "level medium" in readme
    assert "ok: tiny" in result.output


def test_a_clean_capsule_and_the_bundled_suite_have_no_leaks(tmp_path: Path):
    folder = _leaky_capsule(tmp_path)
    (folder / "code" / "notebook.ipynb").unlink()
    (folder / "data" / "outputs.csv").unlink()
    (folder / "REPRODUCING.md").write_text("Run `bash code/run.sh` from code/.\n")
    assert answer_leaks(load_capsule(folder)) == []
    result = CliRunner().invoke(main, ["capsule", "validate", "--all"])
    assert result.exit_code == 0 and "warning:" not in result.output, result.output
