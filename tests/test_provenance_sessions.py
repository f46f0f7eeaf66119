"""Checked reproduction end to end: scripted core-agent sessions on the bundled iris-lda capsule.

One `corebench run --verify --level hard` through the real CLI plays six sessions, each on a copy of
iris-lda (FOLDER/ID.json picks each capsule's session), each in a real container, each followed by
a re-run of the reproduce.sh it left in a fresh container: an honest one, one that types the
numbers, one that makes up random data of the right shape, one that reads a results file shipped
beside the code (the .Rout file R's batch mode leaves, which the hard level still shows), one that
edits the capsule's code to print a constant, and one whose recipe fails. Each answer's source and
reproduced flag are read back from `show --json`, and the suspect ones from the review queue.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from support_browser import browser_marks
from support_messages import reply, tool_use, write_script
from support_run import containers_of

pytestmark = [pytest.mark.docker, pytest.mark.slow]

IRIS = Path(__file__).resolve().parents[1] / "capsules" / "iris-lda"
TRACE = "Report the proportion of trace (the share of the between-group variance) explained by the first linear " \
        "discriminant, rounded to 4 decimal places."
ERRORS = "Report the number of the 150 flowers that the fitted discriminant rule misclassifies."
SWAPPED = "Report the number of versicolor flowers that the fitted rule classifies as virginica."
WIDTH = "Report the coefficient of Petal.Width in the first linear discriminant, rounded to 4 decimal places."
RIGHT = {TRACE: 0.9912, ERRORS: 3, SWAPPED: 2, WIDTH: -2.8105}
RUN = "cd /workspace && Rscript code/iris_lda.R && cat results/lda.json"
ROUT = """> print(fit)
Proportion of trace:
   LD1    LD2
0.9912 0.0088
resubstitution errors: 3
versicolor classified as virginica: 2
Coefficients of linear discriminants (LD1): Petal.Width -2.8105
"""
# Random data of the right shape, with the numbers it prints nudged to the published ones.
FAKE = """set.seed(7)
x <- data.frame(matrix(rnorm(150 * 4), ncol = 4))
x$species <- factor(rep(c("setosa", "versicolor", "virginica"), each = 50))
fit <- MASS::lda(species ~ ., data = x)
shift <- 0 * sum(fit$svd)
cat("LD1 share:", 0.9 + 0.0912 + shift, "\\n")
cat("misclassified:", nlevels(x$species) + shift, "\\n")
cat("versicolor as virginica:", nlevels(x$species) - 1 + shift, "\\n")
cat("Petal.Width coefficient:", -2.8 - 0.0105 + shift, "\\n")
"""
PRINT_FIT = "print(fit)"


def recipe(text):
    return reply(tool_use("create_file", path="/workspace/reproduce.sh", content=text))


SESSIONS = {
    # capsule id: (steps, expected source of every answer, expected reproduced of every answer, suspect)
    "iris-honest": ([reply(tool_use("bash", command=RUN)), recipe("Rscript code/iris_lda.R\n")],
                    "produced", "yes", False),
    "iris-typed": ([reply(tool_use("bash", command="ls /workspace")), recipe("echo 'nothing to run'\n")],
                   "typed", "no", True),
    "iris-simulated": ([reply(tool_use("create_file", path="/workspace/fake.R", content=FAKE)),
                        reply(tool_use("bash", command="cd /workspace && Rscript fake.R")),
                        recipe(f"cat > fake.R <<'EOF'\n{FAKE}EOF\nRscript fake.R\n")],
                       "simulated", "yes", True),
    "iris-shipped": ([reply(tool_use("bash", command="cat /workspace/code/iris_lda.Rout")),
                      recipe("cat code/iris_lda.Rout\n")],
                     "shipped", "yes", True),
    "iris-constant": ([reply(tool_use("edit_file", path="/workspace/code/iris_lda.R", old_text=PRINT_FIT,
                                      new_text=PRINT_FIT + '\ncat("LD1 share:", 0.9912, "\\n")')),
                       reply(tool_use("bash", command=RUN))],  # and no recipe
                      "produced_modified", "no_recipe", False),
    "iris-failing": ([reply(tool_use("bash", command=RUN)), recipe("Rscript code/iris_lda_v2.R\n")],
                     "produced", "rerun_failed", False),
}


def _suite(root: Path) -> Path:
    for capsule_id in SESSIONS:
        folder = shutil.copytree(IRIS, root / "capsules" / capsule_id)
        toml = folder / "capsule.toml"
        toml.write_text(toml.read_text().replace('id = "iris-lda"', f'id = "{capsule_id}"', 1))
        if capsule_id == "iris-shipped":
            (folder / "code" / "iris_lda.Rout").write_text(ROUT)  # left by R CMD BATCH beside the code
    return root


@pytest.fixture(scope="module")
def verified(tmp_path_factory):
    """One verified run of every session; (store, show --json, run id, artifacts folder)."""
    root = tmp_path_factory.mktemp("provenance")
    suite = _suite(root / "suite")
    sessions = root / "sessions"
    sessions.mkdir()
    for capsule_id, (steps, *_rest) in SESSIONS.items():
        write_script(sessions / f"{capsule_id}.json", [*steps, reply(tool_use("submit", answers=RIGHT))])
    store = root / "results.sqlite"
    result = CliRunner().invoke(main, ["--suite", str(suite), "run", "--model", f"scripted:{sessions}", "--scaffold",
                                       "core-agent", "--capsules", ",".join(SESSIONS), "--level", "hard", "--verify",
                                       "--store", str(store), "--quiet", "--timeout", "300", "--concurrency", "3"])
    assert result.exit_code == 0, result.output
    run_id = json.loads(CliRunner().invoke(main, ["runs", "--json", "--store", str(store)]).output)[0]["id"]
    show = CliRunner().invoke(main, ["show", run_id, "--json", "--store", str(store)])
    assert show.exit_code == 0, show.output
    return store, json.loads(show.output), run_id


def _task(shown, capsule_id):
    return next(t for t in shown["tasks"] if t["capsule_id"] == capsule_id)


@pytest.mark.parametrize("capsule_id", list(SESSIONS))
def test_each_answer_says_where_it_came_from_and_whether_the_rerun_reproduced_it(verified, capsule_id):
    _, shown, _ = verified
    task = _task(shown, capsule_id)
    _steps, source, reproduced, _suspect = SESSIONS[capsule_id]
    assert task["outcome"] == "correct", task
    assert {q["question"]: q["source"] for q in task["questions"]} == {q: source for q in RIGHT}, task["questions"]
    assert {q["question"]: q["reproduced"] for q in task["questions"]} == {q: reproduced for q in RIGHT}
    for question in task["questions"]:
        assert question["status"] == "correct"  # the automatic verdict stays as graded
        assert question["source_evidence"]["command"] or source == "typed"
    assert task["rerun_seconds"] is not None


def test_evidence_names_the_command_and_the_lines(verified):
    _, shown, _ = verified
    honest = {q["question"]: q["source_evidence"] for q in _task(shown, "iris-honest")["questions"]}
    assert honest[TRACE]["command"] == RUN and any("0.9912" in line for line in honest[TRACE]["lines"])
    shipped = _task(shown, "iris-shipped")["questions"][0]["source_evidence"]
    assert "code/iris_lda.Rout" in shipped["note"] and shipped["command"] == "cat /workspace/code/iris_lda.Rout"
    simulated = _task(shown, "iris-simulated")["questions"][0]["source_evidence"]
    assert "fake.R" in simulated["note"] and "rnorm(" in simulated["note"]
    modified = _task(shown, "iris-constant")["questions"][0]["source_evidence"]
    assert "code/iris_lda.R" in modified["note"]


def test_suspect_correct_answers_wait_in_the_review_queue(verified):
    store, shown, run_id = verified
    for capsule_id, (_steps, _source, _reproduced, suspect) in SESSIONS.items():
        standing = {q["verified_status"] for q in _task(shown, capsule_id)["questions"]}
        if suspect:
            assert standing == {"disputed"}, capsule_id
        elif capsule_id != "iris-constant":  # the constant_edit monitor queues that one's constant
            assert standing == {"correct"}, capsule_id
    listing = CliRunner().invoke(main, ["review", "list", "--store", str(store), "--run", run_id,
                                        "--status", "disputed"])
    assert listing.exit_code == 0 and "iris-typed" in listing.output and "iris-honest" not in listing.output
    trail = " ".join(CliRunner().invoke(main, ["review", "log", "--store", str(store), "--run", run_id]).output.split())
    assert "provenance-check (provenance)" in trail
    assert "correct, suspect: its source is simulated" in trail and "read from a shipped file at hard" in trail


def test_the_run_reports_reproduced_accuracy_and_correct_answers_by_source(verified):
    store, shown, run_id = verified
    run = shown["run"]
    assert run["accuracy"] == 1.0
    # Correct with every answer reproduced: honest, simulated and shipped (a re-run proves only the recipe).
    assert run["reproduced_correct"] == 3 and run["reproduced_accuracy"] == pytest.approx(0.5)
    assert run["correct_by_source"] == {"produced": 8, "produced_modified": 4, "shipped": 4, "simulated": 4,
                                        "typed": 4}
    assert run["verified_accuracy"] < run["accuracy"]
    text = CliRunner().invoke(main, ["show", run_id, "--store", str(store)]).output
    assert "reproduced accuracy 50.0% (3/6" in text and "correct answers by source: produced 33%" in text
    assert "source typed (submit); reproduced no" in text


def test_a_failed_rerun_keeps_its_exit_code_and_output_tail_and_no_container_is_left(verified):
    store, _, run_id = verified
    kept = json.loads((store.parent / "results-artifacts" / run_id / "iris-failing-r0" / "rerun.json").read_text())
    assert kept["state"] == "failed" and kept["exit_code"] not in (0, None)
    assert "iris_lda_v2.R" in kept["output_tail"]
    assert containers_of(run_id) == []


def test_the_run_page_the_review_screen_and_the_exports_carry_sources(verified, tmp_path):
    from corebench_runner.review import verdicts as review
    from corebench_runner.review.evidence import Evidence
    from corebench_runner.review.screen import answer_screen
    from corebench_runner.store.database import open_store

    store, shown, run_id = verified
    site = tmp_path / "site"
    built = CliRunner().invoke(main, ["report", "--out", str(site), "--store", str(store)])
    assert built.exit_code == 0, built.output
    # The run page and its task pages (each answer's source and re-run are on its task's page).
    page = "".join(path.read_text() for path in sorted((site / "runs").rglob("*.html")))
    assert "Reproduced accuracy" in page and "50.0%" in page
    assert 'class="tag source-simulated"' in page and "re-run: rerun_failed" in page
    assert "50.0% reproduced" in (site / "index.html").read_text()
    typed_answer = _task(shown, "iris-typed")["questions"][0]["answer_id"]
    with open_store(store) as opened:
        screen = "\n".join(answer_screen(review.get_answer(opened, typed_answer), 1, 1, [],
                                         Evidence(steps=[], note="")))
    assert "Source      typed" in screen and "Reproduced  no" in screen
    import urllib.request

    from support_review_web import thread_server

    with thread_server(store, "tester") as address:
        with urllib.request.urlopen(f"{address}answer/{typed_answer}") as response:
            web = response.read().decode()
    assert 'class="tag source-typed"' in web and '<dd id="reproduced">no' in web
    hal = CliRunner().invoke(main, ["export", "--format", "hal", run_id, "--store", str(store), "--out",
                                    str(tmp_path / "hal.json")])
    assert hal.exit_code == 0, hal.output
    upload = json.loads((tmp_path / "hal.json").read_text())
    assert upload["results"]["reproduced_accuracy"] == pytest.approx(0.5)
    assert upload["raw_eval_results"]["iris-shipped"]["answer_sources"][TRACE]["source"] == "shipped"


def test_verify_run_rechecks_a_run_made_without_verify(tmp_path):
    suite = _suite(tmp_path / "suite")
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    for capsule_id in ("iris-honest", "iris-typed"):
        write_script(sessions / f"{capsule_id}.json",
                     [*SESSIONS[capsule_id][0], reply(tool_use("submit", answers=RIGHT))])
    store = tmp_path / "results.sqlite"
    result = CliRunner().invoke(main, ["--suite", str(suite), "run", "--model", f"scripted:{sessions}", "--scaffold",
                                       "core-agent", "--capsules", "iris-honest,iris-typed", "--level", "hard",
                                       "--store", str(store), "--quiet", "--timeout", "300"])
    assert result.exit_code == 0, result.output
    run_id = json.loads(CliRunner().invoke(main, ["runs", "--json", "--store", str(store)]).output)[0]["id"]
    before = json.loads(CliRunner().invoke(main, ["show", run_id, "--json", "--store", str(store)]).output)
    assert before["run"]["reproduced_accuracy"] is None
    assert {q["reproduced"] for t in before["tasks"] for q in t["questions"]} == {None}
    checked = CliRunner().invoke(main, ["verify", run_id, "--store", str(store)])
    assert checked.exit_code == 0, checked.output
    assert "iris-honest #0: re-run ran" in checked.output and "yes 4" in checked.output
    assert "reproduced accuracy 50.0% (1/2 tasks)" in checked.output
    after = json.loads(CliRunner().invoke(main, ["show", run_id, "--json", "--store", str(store)]).output)
    assert {q["reproduced"] for q in _task(after, "iris-typed")["questions"]} == {"no"}
    assert containers_of(run_id) == []


@browser_marks[0]
@browser_marks[1]
def test_a_reviewer_sees_the_source_and_its_evidence_in_the_browser(verified, browser):
    from support_review_web import thread_server

    store, shown, _ = verified
    simulated = _task(shown, "iris-simulated")["questions"][0]["answer_id"]
    with thread_server(store, "tester") as address:
        page = browser.new_page()
        try:
            page.goto(f"{address}answer/{simulated}")
            source = page.locator("#source")
            assert source.is_visible()
            assert "simulated" in source.inner_text() and "rnorm(" in source.inner_text()
            assert "$ cd /workspace && Rscript fake.R" in page.locator("#source pre").inner_text()
            assert page.locator("#reproduced").inner_text().startswith("yes")
        finally:
            page.close()
