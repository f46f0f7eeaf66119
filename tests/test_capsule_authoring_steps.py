"""Each authoring step on its own: what `new`, `validate`, `add-question`, `reproduce`, `check --record`
and `images build` tell the author."""

from __future__ import annotations

import secrets
import tomllib
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from corebench_runner.capsules.output_numbers import found_values
from corebench_runner.cli import main
from corebench_runner.sandbox.docker.engine import docker_client
from support_capsules import good_capsule_doc, write_capsule


def cli(suite: Path, *args: str):
    suite.mkdir(exist_ok=True)
    return CliRunner().invoke(main, ["--suite", str(suite), *args])


def r_paper(tmp_path: Path) -> Path:
    source = tmp_path / "adams2018"
    (source / "analysis").mkdir(parents=True)
    (source / "analysis" / "models.Rmd").write_text("```{r}\nlibrary(lme4)\n```\n")
    (source / "analysis" / "helpers.R").write_text("f <- function(x) x\n")
    (source / "plot.py").write_text("print(1)\n")
    (source / "data").mkdir()
    (source / "data" / "trials.csv").write_text("a,b\n1,2\n")
    return source


def test_new_detects_r_and_leaves_the_field_to_the_author(tmp_path: Path):
    suite = tmp_path / "suite"
    result = cli(suite, "capsule", "new", "adams", "--from-dir", str(r_paper(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "language: R + Python; environment: corebench/python-r:bookworm" in result.output
    folder = suite / "capsules" / "adams"
    text = (folder / "capsule.toml").read_text()
    doc = tomllib.loads(text)
    assert doc["language"] == "R + Python" and doc["field"] == ""
    assert "# detected in code/: 1 Python file(s), 2 R file(s)" in text
    assert 'agent_user = "root"' in text and "unprivileged" in text  # the template says what it means
    assert (folder / "data" / "trials.csv").is_file() and not (folder / "code" / "data").exists()
    # Only R code: the R base image.
    (tmp_path / "adams2018" / "plot.py").unlink()
    result = cli(suite, "capsule", "new", "adams-r", "--from-dir", str(tmp_path / "adams2018"))
    assert "language: R; environment: corebench/r:bookworm" in result.output
    assert "FROM corebench/r:bookworm" in (suite / "capsules" / "adams-r" / "environment" / "Dockerfile").read_text()


def test_validate_warns_that_an_unprivileged_agent_cannot_install_what_the_dockerfile_does(tmp_path: Path):
    suite = tmp_path / "suite"
    doc = good_capsule_doc("mixed")
    doc["agent_user"] = "agent"
    folder = write_capsule(suite / "capsules", "mixed", doc)
    (folder / "environment" / "Dockerfile").write_text(
        "FROM corebench/r:bookworm\n# mixed models\nRUN apt-get update && \\\n"
        "    apt-get install -y --no-install-recommends r-cran-lme4 r-cran-lmertest\n")
    toml_line = next(n for n, line in enumerate((folder / "capsule.toml").read_text().splitlines(), 1)
                     if line.startswith("agent_user"))
    result = cli(suite, "capsule", "validate", "mixed")
    assert result.exit_code == 0, result.output  # a warning, not an error
    warning = next(line for line in result.output.splitlines() if "agent_user" in line)
    assert warning.startswith(f"warning: {folder / 'capsule.toml'}: ")
    assert f"agent_user: line {toml_line} sets agent_user = \"agent\"" in warning
    assert "environment/Dockerfile line 3 apt-installs r-cran-lme4, r-cran-lmertest" in warning
    assert 'set agent_user = "root"' in warning
    # With root (or with nothing apt-installed) there is nothing to say.
    doc["agent_user"] = "root"
    (folder / "capsule.toml").write_text(tomli_w.dumps(doc))
    assert "agent_user" not in cli(suite, "capsule", "validate", "mixed").output


def test_validate_says_field_is_left_to_fill(tmp_path: Path):
    suite = tmp_path / "suite"
    doc = good_capsule_doc("nofield")
    doc["field"] = ""
    write_capsule(suite / "capsules", "nofield", doc)
    result = cli(suite, "capsule", "validate", "nofield")
    assert "warning: " in result.output and "field: is empty; fill in the paper's research field" in result.output


def test_add_question_keeps_the_authors_comments_and_refuses_mistakes(tmp_path: Path):
    suite = tmp_path / "suite"
    cli(suite, "capsule", "new", "adams", "--from-dir", str(r_paper(tmp_path)))
    toml = suite / "capsules" / "adams" / "capsule.toml"
    toml.write_text(toml.read_text().replace('field = ""', 'field = "Psychology"  # my note'))
    result = cli(suite, "capsule", "add-question", "adams", "Report the fixed effect of condition.",
                 "--file", "results/model.csv", "--csv-row", "condition", "--csv-column", "2")
    assert result.exit_code == 0 and "added question 1" in result.output
    text = toml.read_text()
    assert 'field = "Psychology"  # my note' in text
    question = tomllib.loads(text)["questions"][0]
    assert question["extract"] == {"file": "results/model.csv", "csv": {"row": "condition", "column": 2}}
    assert question["runs"] == []
    # Validate says how the empty runs get filled.
    assert "capsule check adams --runs 3 --record" in cli(suite, "capsule", "validate", "adams").output
    for args, needle in ((["Report the fixed effect of condition.", "--file", "r.json", "--key", "x"], "already there"),
                         (["Another?", "--file", "r.json"], "exactly one of --key"),
                         (["Another?", "--file", "r.csv", "--csv-row", "a"], "--csv-row and --csv-column go together")):
        result = cli(suite, "capsule", "add-question", "adams", *args)
        assert result.exit_code == 2 and needle in result.output and "Traceback" not in result.output, result.output


def test_values_in_output_files_come_with_rules_that_read_them_back():
    found = found_values("results/m.json", b'{"fit": {"slope": 0.25, "labels": ["a", "b"]}, "a.b": 1}')
    assert [(f.rule_text(), f.value) for f in found] == [("--key fit.slope", 0.25), ("--key fit.labels", ["a", "b"])]
    found = found_values("results/t.csv", b"model,acc,loss\ncnn,0.91,0.3\nrnn,0.88,0.4\n")
    assert ("--csv-row cnn --csv-column acc", 0.91) in [(f.rule_text(), f.value) for f in found]
    found = found_values("results/log.txt", b"epoch 3\nTest accuracy: 0.912 (best)\n")
    assert [f.value for f in found] == [3, 0.912]
    assert found[1].rule_text().startswith("--regex 'Test accuracy: (")
    assert found_values("results/fig.png", b"\x89PNG\r\n\x1a\n\0\0") == []


def test_the_unknown_capsule_message_says_how_many_more_there_are(tmp_path: Path):
    suite = tmp_path / "suite"
    for n in range(11):
        write_capsule(suite / "capsules", f"cap-{n:02d}")
    result = cli(suite, "capsule", "show", "nope")
    assert result.exit_code == 2
    assert "(known: cap-00, cap-01, cap-02, cap-03, cap-04, cap-05, cap-06, cap-07 and 3 more)" in result.output


@pytest.mark.docker
def test_reproduce_and_record_before_any_question_exists(tmp_path: Path):
    suite = tmp_path / "suite"
    folder = write_capsule(suite / "capsules", "draft")
    doc = good_capsule_doc("draft")
    del doc["questions"]
    (folder / "capsule.toml").write_text(tomli_w.dumps(doc))
    for stale in (folder / "results").iterdir():
        stale.unlink()
    # check --record with nothing to record, and the images build that used to refuse a question-less capsule.
    result = cli(suite, "capsule", "check", "draft", "--record")
    assert result.exit_code == 2 and "no questions to record; add them with `corebench capsule add-question" \
        in result.output
    result = cli(suite, "images", "build", "draft")
    assert result.exit_code == 0 and result.output.strip().splitlines()[-1].startswith("corebench/env-draft:")

    with (folder / "code" / "analysis.py").open("a") as code:
        code.write("open('scratch.log', 'w').write('fit done: loss 0.25\\n')\n")  # outside results/
    result = cli(suite, "capsule", "reproduce", "draft")
    assert result.exit_code == 0, result.output
    assert "results/summary.json  (" in result.output and "kept in the capsule" in result.output
    assert "scratch.log  (20 bytes; outside results/: not kept; make the code write into results/)" in result.output
    assert not (folder / "scratch.log").exists()
    assert "    3.7333         --file results/summary.json --key mean_petal_length" in result.output
    assert (folder / "results" / "summary.json").is_file()

    # A run that fails: nothing recorded, capsule.toml untouched, exit 1.
    cli(suite, "capsule", "add-question", "draft", "Report the mean petal length, rounded to 4 decimal places.",
        "--file", "results/summary.json", "--key", "mean_petal_length")
    (folder / "code" / "analysis.py").write_text("import sys\nsys.exit('the data file moved')\n")
    before = (folder / "capsule.toml").read_text()
    result = cli(suite, "capsule", "check", "draft", "--runs", "2", "--record")
    assert result.exit_code == 1
    assert "nothing recorded: every run must answer every question" in result.output
    assert (folder / "capsule.toml").read_text() == before
    result = cli(suite, "capsule", "reproduce", "draft")
    assert result.exit_code == 1 and "exit code 1" in result.output and "the data file moved" in result.output


@pytest.mark.docker
def test_an_image_build_shows_its_steps_and_names_its_log(tmp_path: Path, request: pytest.FixtureRequest):
    suite = tmp_path / "suite"
    folder = write_capsule(suite / "capsules", "slowbuild")
    token = secrets.token_hex(4)  # new content: a real build, not the cache
    (folder / "environment" / "Dockerfile").write_text(
        f"FROM corebench/python:bookworm\nRUN echo started {token} && sleep 6 && echo finished {token}\n")
    result = CliRunner().invoke(main, ["--suite", str(suite), "images", "build", "slowbuild"])
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    built = lines[-1].split()[1]
    if built.startswith("corebench/env-slowbuild:"):  # each run builds a new image: not one left per run
        request.addfinalizer(lambda: docker_client().images.remove(built, force=True))
    assert lines[0].startswith("building the environment of capsule slowbuild") and "(log: " in lines[0]
    log = Path(lines[0].split("(log: ")[1].rstrip(")"))
    assert f"finished {token}" in log.read_text()
    assert any(line.strip().startswith("Step 2/") and token in line for line in lines)
    assert any(line.strip() == f"... finished {token}" for line in lines)  # a long step's latest line
    assert lines[-1].startswith("built corebench/env-slowbuild:")
