"""Every broken capsule gives one line naming the file and the field, exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from corebench_runner.capsules.format import CapsuleError, load_capsule, parse_capsule
from corebench_runner.cli import main
from support_capsules import good_capsule_doc, write_capsule


def run_cli(args: list[str], suite: Path):
    return CliRunner().invoke(main, ["--suite", str(suite), *args])


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "capsules").mkdir()
    return tmp_path


def test_good_capsule_validates(suite: Path):
    write_capsule(suite / "capsules")
    result = run_cli(["capsule", "validate", "tiny"], suite)
    assert result.exit_code == 0, result.output
    assert "ok: tiny (3 questions; levels: easy, medium, hard)" in result.output


def test_vision_questions_follow_upstreams_fig_rule(suite: Path):
    capsule = load_capsule(write_capsule(suite / "capsules"))
    assert [q.vision for q in capsule.questions] == [False, False, True]


def _doc_with(**changes):
    doc = good_capsule_doc("tiny")
    for key, value in changes.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    return doc


def _break_toml_syntax(folder: Path):
    (folder / "capsule.toml").write_text('id = "tiny"\ntitle = \n')


def _remove_toml(folder: Path):
    (folder / "capsule.toml").unlink()


def _remove_code(folder: Path):
    import shutil
    shutil.rmtree(folder / "code")


def _link_outside(folder: Path):
    (folder / "data" / "secrets").symlink_to("/etc/passwd")


def _rewrite(**changes):
    def apply(folder: Path):
        (folder / "capsule.toml").write_text(tomli_w.dumps(_doc_with(**changes)))
    return apply


def _questions(mutate):
    def apply(folder: Path):
        doc = good_capsule_doc("tiny")
        mutate(doc["questions"])
        (folder / "capsule.toml").write_text(tomli_w.dumps(doc))
    return apply


BROKEN = {
    "no capsule.toml": (_remove_toml, "capsule.toml", "file"),
    "bad TOML syntax": (_break_toml_syntax, "capsule.toml", "syntax"),
    "missing title": (_rewrite(title=None), "capsule.toml", "title"),
    "gpu of the wrong type": (_rewrite(gpu=1), "capsule.toml", "gpu"),
    "gpu not a known choice": (_rewrite(gpu="maybe"), "capsule.toml", "gpu"),
    "agent_user not a known choice": (_rewrite(agent_user="nobody"), "capsule.toml", "agent_user"),
    "id differs from folder": (_rewrite(id="other-name"), "capsule.toml", "id"),
    "runs disagree in type": (_questions(lambda qs: qs[0].update(runs=[3.7333, "3.7333", 3.7333])),
                              "capsule.toml", "questions[0].runs"),
    "duplicate question": (_questions(lambda qs: qs.append(dict(qs[0]))), "capsule.toml", "questions[3].text"),
    "environment escapes": (_rewrite(environment="../../etc/Dockerfile"), "capsule.toml", "environment"),
    "extract file escapes": (_questions(lambda qs: qs[0].update(extract={"file": "/etc/passwd", "key": "x"})),
                             "capsule.toml", "questions[0].extract.file"),
    "no code folder": (_remove_code, "capsule.toml", "code/"),
    "link pointing outside": (_link_outside, "capsule.toml", "data/secrets"),
    "memory not a size": (_rewrite(resources={"cpus": 1, "memory": "lots"}), "capsule.toml", "resources.memory"),
    "no questions": (_rewrite(questions=[]), "capsule.toml", "questions"),
    "question text missing": (_questions(lambda qs: qs[1].pop("text")), "capsule.toml", "questions[1].text"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_capsule_gives_one_line(suite: Path, case: str):
    breaker, file_name, field = BROKEN[case]
    folder = write_capsule(suite / "capsules")
    breaker(folder)
    result = run_cli(["capsule", "validate", str(folder)], suite)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    assert file_name in errors[0] and f": {field}: " in errors[0], errors[0]
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_fewer_than_three_runs_is_a_warning_not_an_error(suite: Path):
    folder = write_capsule(suite / "capsules")
    _questions(lambda qs: qs[0].update(runs=[3.7333, 3.7334]))(folder)
    result = run_cli(["capsule", "validate", "tiny"], suite)
    assert result.exit_code == 0
    assert "warning:" in result.output and "questions[0].runs" in result.output and "only 2 reference run" in result.output


def test_load_capsule_raises_a_user_error_naming_the_problem(suite: Path):
    folder = write_capsule(suite / "capsules")
    _rewrite(gpu="maybe")(folder)
    with pytest.raises(CapsuleError) as info:
        load_capsule(folder)
    assert "capsule.toml: gpu:" in str(info.value)


def test_unknown_field_is_flagged_as_a_possible_typo(suite: Path):
    folder = write_capsule(suite / "capsules")
    doc = good_capsule_doc("tiny")
    doc["reproduc"] = "python3 x.py"
    (folder / "capsule.toml").write_text(tomli_w.dumps(doc))
    capsule, problems = parse_capsule(folder)
    assert capsule is not None
    assert any(p.field == "reproduc" and p.severity == "warning" for p in problems)


def test_validate_all_reports_each_bad_capsule_and_fails(suite: Path):
    write_capsule(suite / "capsules", "good-one", good_capsule_doc("good-one"))
    bad = write_capsule(suite / "capsules", "bad-one", good_capsule_doc("bad-one"))
    _rewrite(id="bad-one", gpu="yes")(bad)
    result = run_cli(["capsule", "validate", "--all"], suite)
    assert result.exit_code == 2
    assert "ok: good-one" in result.output
    assert "1 of 2 capsule(s) failed validation" in result.output


def test_real_process_prints_one_line_and_no_traceback(suite: Path):
    """Through a real process, as a user sees it."""
    folder = write_capsule(suite / "capsules")
    _rewrite(gpu=["a", "list"])(folder)
    proc = subprocess.run([sys.executable, "-c", "from corebench_runner.cli import main; main()",
                           "--suite", str(suite), "capsule", "validate", "tiny"],
                          capture_output=True, text=True, env={**os.environ})
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "capsule.toml: gpu: must be str" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_unknown_capsule_id_is_one_clear_line(suite: Path):
    result = run_cli(["capsule", "show", "nope"], suite)
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: no capsule 'nope'")


# ---------------------------------------------------------------- capsules a hostile or careless author wrote

def _non_utf8_file(folder: Path) -> None:
    (folder / "data" / os.fsdecode(b"r\xe9sultats.csv")).write_text("x\n1\n")


def test_a_file_name_that_is_not_utf8_fails_validate_in_one_line_and_run_all_leaves_only_it_out(suite: Path):
    from corebench_runner.capsules.suite import Suite
    from corebench_runner.running.run import select_capsules

    _non_utf8_file(write_capsule(suite / "capsules", "tiny"))
    write_capsule(suite / "capsules", "other")
    result = run_cli(["capsule", "validate", "tiny"], suite)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "r\\xe9sultats.csv" in errors[0] and "not UTF-8" in errors[0], result.output
    assert "Traceback" not in result.output

    capsules, notes = select_capsules(Suite(suite), None, "hard")
    assert [c.id for c in capsules] == ["other"]
    assert any(n.startswith("left out tiny:") and "not UTF-8" in n for n in notes), notes


def test_the_content_hash_of_a_folder_with_a_non_utf8_name_is_its_bytes_not_a_crash(suite: Path):
    folder = write_capsule(suite / "capsules")
    capsule = load_capsule(folder)
    before = capsule.content_hash()
    _non_utf8_file(folder)
    assert capsule.content_hash() != before


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_reference_value_that_is_nan_or_infinite_is_an_error(suite: Path, bad: float):
    folder = write_capsule(suite / "capsules")
    (folder / "capsule.toml").write_text((folder / "capsule.toml").read_text().replace("3.7333", repr(bad), 1))
    assert repr(bad) in (folder / "capsule.toml").read_text()
    result = run_cli(["capsule", "validate", "tiny"], suite)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "questions[0].runs" in errors[0] and "finite number" in errors[0], result.output


def test_a_number_with_one_reference_run_is_flagged_for_what_it_means(suite: Path):
    folder = write_capsule(suite / "capsules")
    _questions(lambda qs: (qs[0].update(runs=[3.7333]), qs[1].update(runs=["setosa"])))(folder)
    result = run_cli(["capsule", "validate", "tiny"], suite)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    numeric = [w for w in warnings if "questions[0].runs" in w]
    assert len(numeric) == 1 and "no answer to it can be graded correct" in numeric[0], result.output


def test_the_tolerant_grader_names_the_single_run_not_numpys_last_bit(suite: Path):
    from corebench_runner.capsules.format import Question
    from corebench_runner.capsules.plugins import load_plugin

    grader = load_plugin("graders", "tolerant", suite)
    verdict = grader.grade(Question(text="Report the mean.", runs=(3.7333,)), 3.7333)
    assert verdict.status.value == "disputed"
    assert "single reference run" in verdict.reason and "last bit" not in verdict.reason


def test_the_disk_limit_is_read_and_checked(suite: Path):
    folder = write_capsule(suite / "capsules")
    assert load_capsule(folder).resources.disk == "10g"
    _rewrite(resources={"disk": "lots"})(folder)
    result = run_cli(["capsule", "validate", "tiny"], suite)
    assert result.exit_code == 2 and "resources.disk" in result.output, result.output


# What capsules/format.py offered before its questions and findings got modules of their own.
FORMAT_NAMES = ("CAPSULE_FILE", "GPU_CHOICES", "AGENT_USERS", "LEVELS", "RUN_SCRIPTS", "CONTENT_DIRS", "KNOWN_KEYS",
                "is_vision_question", "Tolerance", "Question", "Paper", "Benchmark", "Resources", "Capsule", "Problem",
                "CapsuleError", "parse_capsule", "load_capsule")


def test_a_plugin_importing_from_the_capsule_format_gets_the_classes_the_loader_builds(suite: Path):
    """Plugins import Question (and the rest) from capsules/format.py: an isinstance check there must hold
    for what loading a capsule gives."""
    from corebench_runner.capsules import format as capsule_format

    folder = write_capsule(suite / "capsules")
    questions = load_capsule(folder).questions
    _questions(lambda qs: qs[0].update(runs=[]))(folder)
    with pytest.raises(capsule_format.CapsuleError) as err:
        load_capsule(folder)
    for module in (capsule_format,):
        assert [name for name in FORMAT_NAMES if not hasattr(module, name)] == []
        assert all(isinstance(q, module.Question) for q in questions)
        assert all(isinstance(p, module.Problem) for p in err.value.problems)
        assert module.is_vision_question("From fig 2, report the peak.")
