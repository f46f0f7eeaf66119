"""Authoring a capsule from a paper's git repository with CLI commands only, then running it.

new -> reproduce (before any question exists) -> add-question with the rules reproduce printed
-> check --record (reference runs measured, written into capsule.toml) -> validate -> the oracle
at every level, graded correct. Real git, real containers, a real SQLite store.
"""

from __future__ import annotations

import json
import shlex
import tomllib
from pathlib import Path

import git
import pytest
from click.testing import CliRunner

from corebench_runner.cli import main

R_ANALYSIS = """\
d <- read.csv("data/growth.csv")
fit <- lm(len ~ dose, data = d)
dir.create("results", showWarnings = FALSE)
writeLines(sprintf('{"fit": {"slope": %.4f, "n": %d}}', coef(fit)[["dose"]], nrow(d)), "results/fit.json")
means <- aggregate(len ~ dose, data = d, FUN = mean)
write.csv(data.frame(dose = c("low", "mid", "high"), mean = round(means$len, 2)), "results/means.csv",
          row.names = FALSE)
cat(sprintf("R squared: %.3f\\n", summary(fit)$r.squared), file = "results/summary.txt")
"""
R_DATA = "dose,len\n0.5,10.6\n0.5,9.9\n1,19.7\n1,20.1\n2,26.1\n2,25.9\n"

PY_ANALYSIS = """\
import csv, json, os, statistics
rows = list(csv.DictReader(open("data/scores.csv")))
by_group = {}
for row in rows:
    by_group.setdefault(row["group"], []).append(float(row["score"]))
os.makedirs("results", exist_ok=True)
summary = {"groups": {g: {"mean": round(statistics.mean(v), 3)} for g, v in by_group.items()},
           "best_group": max(by_group, key=lambda g: statistics.mean(by_group[g]))}
json.dump(summary, open("results/summary.json", "w"), indent=2)
"""
PY_DATA = "group,score\ncontrol,3.1\ncontrol,2.9\ntreated,4.4\ntreated,4.8\ntreated,4.5\n"

VARIANTS = {
    "r": dict(files={"analysis.R": R_ANALYSIS, "data/growth.csv": R_DATA}, reproduce="Rscript code/analysis.R",
              language="R", base="corebench/r:bookworm",
              questions={"results/fit.json --key fit.slope": ("Report the slope of length on dose, rounded to "
                                                              "4 decimal places.", 9.8714),
                         "results/means.csv --csv-row high --csv-column mean": (
                             "Report the mean length at the high dose, rounded to 2 decimal places.", 26),
                         "results/summary.txt --regex": ("Report the R squared of the fit, rounded to 3 decimal "
                                                         "places.", 0.9)}),
    "python": dict(files={"analysis.py": PY_ANALYSIS, "data/scores.csv": PY_DATA},
                   reproduce="python3 code/analysis.py", language="Python", base="corebench/python:bookworm",
                   questions={"results/summary.json --key groups.treated.mean": (
                       "Report the mean score of the treated group, rounded to 3 decimal places.", 4.567),
                       "results/summary.json --key best_group": ("Report the name of the group with the "
                                                                 "highest mean score.", "treated")}),
}


def paper_repository(root: Path, files: dict[str, str]) -> tuple[str, str]:
    """A real git repository as authors publish one: code at the top, data in data/."""
    repo = git.Repo.init(root)
    with repo.config_writer() as config:
        config.set_value("user", "name", "Author")
        config.set_value("user", "email", "author@example.org")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    repo.index.add(list(files))
    commit = repo.index.commit("analysis as published").hexsha
    (root / "README.md").write_text("a later commit the capsule must not get\n")
    repo.index.add(["README.md"])
    repo.index.commit("later")
    return root.as_uri(), commit


@pytest.mark.docker
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_capsule_authored_with_cli_commands_only_runs_correct_at_every_level(tmp_path: Path, variant: str,
                                                                               monkeypatch):
    spec = VARIANTS[variant]
    url, commit = paper_repository(tmp_path / "paper", spec["files"])
    suite = tmp_path / "suite"
    suite.mkdir()
    monkeypatch.setenv("COREBENCH_STORE", str(tmp_path / "results.sqlite"))
    name = f"paper-{variant}"

    def cli(*args: str, code: int = 0):
        result = CliRunner().invoke(main, ["--suite", str(suite), *args])
        assert result.exit_code == code, result.output
        return result.output

    out = cli("capsule", "new", name, "--from-git", url, "--rev", commit[:8], "--reproduce", spec["reproduce"],
              "--field", "Medical Sciences", "--task-prompt", "Run the analysis and report what the questions ask.")
    assert f"language: {spec['language']}; environment: {spec['base']}" in out
    folder = suite / "capsules" / name
    assert not (folder / "code" / "README.md").exists()  # pinned at the first commit

    # Before any question exists: run the code, see every value with the rule that reads it.
    out = cli("capsule", "reproduce", name)
    assert f"`{spec['reproduce']}`: exit code 0" in out
    printed_rules = [line.split(None, 1)[1] for line in out.splitlines() if line.startswith("    ")]
    for where, (text, value) in spec["questions"].items():
        matching = [r for r in printed_rules if r.startswith(f"--file {where}")]
        assert matching, f"reproduce did not offer {where}:\n{out}"
        shown_value = next(line.split()[0] for line in out.splitlines() if line.endswith(matching[0]))
        assert shown_value.strip("'") == str(value)
        cli("capsule", "add-question", name, text, *shlex.split(matching[0]))
    assert any((folder / "results").iterdir()), "reproduce keeps the outputs for the easy level"

    out = cli("capsule", "check", name, "--runs", "3", "--record")
    assert f"recorded 3 reference runs for {len(spec['questions'])} question(s) in capsule.toml" in out
    recorded = tomllib.loads((folder / "capsule.toml").read_text())
    assert [q["runs"] for q in recorded["questions"]] == [[v] * 3 for _, v in spec["questions"].values()]
    assert recorded["source"]["rev"] == commit

    out = cli("capsule", "validate", name)
    assert out.strip() == f"ok: {name} ({len(spec['questions'])} questions; levels: easy, medium, hard)"

    for level in ("easy", "medium", "hard"):
        cli("run", "--model", "none", "--scaffold", "oracle", "--level", level, "--capsules", name, "--quiet")
    runs = json.loads(cli("runs", "--json"))
    assert sorted(r["level"] for r in runs) == ["easy", "hard", "medium"]
    assert all(r["outcomes"] == {"correct": 1} for r in runs), runs
