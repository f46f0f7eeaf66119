"""The written plugin contracts: what a scaffold must have, what a model client must do, and who
decides that a task left no report to grade.

Real plugins loaded by path, the CLI as a user types it, real SQLite; the model clients through
their real SDKs against the local servers; the report tests in real containers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from corebench_runner.agents.contract import MEMBERS, Scaffold, contract_problems, load_scaffold
from corebench_runner.capsules.plugins import available, load_plugin
from corebench_runner.capsules.suite import BUNDLED_SUITE
from corebench_runner.cli import main
from corebench_runner.diagnostics.stored import show_json
from corebench_runner.models.base import ModelClient
from corebench_runner.models.factory import make_model
from corebench_runner.models.metered import MeteredModel
from corebench_runner.records import Usage
from corebench_runner.store.database import open_store
from corebench_runner.store.results import list_runs
from corebench_scripted.messages_api import MessagesServer
from corebench_scripted.openai_api import OpenAIServer
from support_capsules import good_capsule_doc, write_capsule
from support_run import RIGHT, make_suite

BUNDLED_SCAFFOLDS = available("scaffolds", BUNDLED_SUITE)
HELLO = [{"role": "user", "content": "Say hello."}]


# --- the Scaffold contract ----------------------------------------------------------------------

def test_the_contract_checks_every_member_the_protocol_declares():
    declared = set(Scaffold.__annotations__) | {name for name in vars(Scaffold) if callable(vars(Scaffold)[name])
                                                and not name.startswith("_")}
    assert declared == set(MEMBERS)


@pytest.mark.parametrize("name", BUNDLED_SCAFFOLDS)
def test_every_bundled_scaffold_has_every_member_of_the_contract(name):
    scaffold = load_plugin("scaffolds", name, BUNDLED_SUITE)  # the plugin itself, as it ships
    assert contract_problems(scaffold) == {}
    assert isinstance(scaffold, Scaffold)
    assert scaffold.name == name and scaffold.version
    assert load_scaffold(name) is scaffold  # complete: the engine runs the plugin itself, no stand-in
    if not name.startswith(("claude-code", "codex", "opencode", "command")):  # an agent layer is a build
        assert scaffold.image_for("corebench/python:bookworm") == "corebench/python:bookworm"


def test_bundled_scaffolds_are_the_ones_expected():
    assert {"oracle", "core-agent", "claude-code", "codex", "opencode", "command"} <= set(BUNDLED_SCAFFOLDS)


MINIMAL = '''
from corebench_runner.records import Submission


class Minimal:
    name = "minimal"
    version = "3"
    needs_model = False

    def run(self, task, sandbox, model, limits):
        return Submission(answers=None)


SCAFFOLD = Minimal()
'''


def test_a_scaffold_that_leaves_optional_members_out_gets_the_contracts_defaults(tmp_path):
    (tmp_path / "scaffolds").mkdir()
    (tmp_path / "scaffolds" / "minimal.py").write_text(MINIMAL)
    scaffold = load_scaffold("minimal", tmp_path)
    assert contract_problems(scaffold) == {}
    assert (scaffold.name, scaffold.version, scaffold.needs_model) == ("minimal", "3", False)
    assert scaffold.always_uses_capsule_environment is False and scaffold.model_api is None
    assert scaffold.image_for("corebench/python:bookworm") == "corebench/python:bookworm"


INCOMPLETE = {
    "lacks-run": ("class Half:\n    name, version, needs_model = 'half', '1', False\n",
                  "lacks `run(task, sandbox, model, limits) -> Submission`"),
    "wrong-shape": ("class Half:\n    name, version, needs_model = 'half', '1', 'no'\n"
                    "    def run(self, task, sandbox, model, limits):\n        return None\n",
                    "has needs_model = 'no', not `needs_model` (True or False)"),
}


@pytest.mark.parametrize("case", sorted(INCOMPLETE))
def test_a_third_party_scaffold_short_of_the_contract_is_refused_before_the_run(case, tmp_path):
    source, problem = INCOMPLETE[case]
    suite = make_suite(tmp_path / "suite", ["good-a"])
    plugin = suite / "scaffolds" / "half.py"
    plugin.write_text(source + "\nSCAFFOLD = Half()\n")
    store = tmp_path / "results.sqlite"
    result = CliRunner().invoke(main, ["--suite", str(suite), "run", "--scaffold", "half", "--all", "--sandbox",
                                       "local", "--infra-retries", "0", "--quiet", "--store", str(store)])
    assert result.exit_code != 0
    assert result.output.strip() == (f"error: {plugin}: scaffold 'half' {problem}; see the Scaffold contract in "
                                     "corebench_runner/agents/contract.py (or subclass its ScaffoldBase)")
    assert not store.exists()  # refused before a run was planned: no empty store left behind


# --- the ModelClient contract -------------------------------------------------------------------

def _connections() -> set[tuple]:
    """This process's TCP sockets: listening ones and connections, as (local, remote, status)."""
    return {(c.laddr, c.raddr, c.status) for c in psutil.Process().net_connections(kind="tcp")}


def _opened_since(before: set[tuple], wait: float = 5.0) -> set[tuple]:
    """Sockets this process opened since `before` and still holds after up to `wait` seconds (a server's
    handler thread closes its end of a connection a moment after the client closes its own)."""
    deadline = time.monotonic() + wait
    while (left := _connections() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _scripted(tmp_path: Path, protocol: str) -> str:
    path = tmp_path / f"{protocol}.json"
    path.write_text(json.dumps({"protocol": protocol, "model": "gpt-5" if "openai" in protocol else "claude-haiku-4-5",
                                "steps": [{"content": [{"type": "text", "text": "Hello."}]}]}))
    return f"scripted:{path}"


@pytest.mark.parametrize("kind", ["scripted-anthropic", "scripted-openai", "anthropic", "openai"])
def test_every_model_client_closes_its_connections_and_its_local_server(kind, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-local-only")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-local-only")
    before = _connections()
    with MessagesServer([{"content": [{"type": "text", "text": "Hello."}]}], api_key="sk-ant-test-local-only") as ms, \
            OpenAIServer([{"content": [{"type": "text", "text": "Hello."}]}], api_key="sk-test-local-only") as os_:
        servers = _connections()
        spec, base_url = {"scripted-anthropic": (_scripted(tmp_path, "anthropic-messages"), None),
                          "scripted-openai": (_scripted(tmp_path, "openai-chat"), None),
                          "anthropic": ("anthropic:claude-haiku-4-5", ms.url),
                          "openai": ("openai:gpt-5", os_.base_url)}[kind]
        client = make_model(spec, base_url=base_url)
        model = MeteredModel(client, Usage())  # as the engine holds it
        assert isinstance(client, ModelClient) and isinstance(model, ModelClient)
        assert model.name == client.name == spec and model.model == client.model
        assert model.complete("", HELLO).content == [{"type": "text", "text": "Hello."}]
        assert _connections() - servers  # its connection (and a scripted client's own server) is open
        model.close()
        assert _opened_since(servers) == set()  # ... and gone, its local server with it
    assert _opened_since(before) == set()


SESSION = {"model": "scripted", "steps": [{"content": [{"type": "tool_use", "name": "submit",
                                                        "input": {"answers": RIGHT}}]}]}


def test_a_run_closes_its_model_so_no_socket_outlives_it(tmp_path):
    suite = make_suite(tmp_path / "suite", ["good-a", "good-b"])
    session = tmp_path / "session.json"
    session.write_text(json.dumps(SESSION))
    store = tmp_path / "results.sqlite"
    before = _connections()
    result = CliRunner().invoke(main, ["--suite", str(suite), "run", "--scaffold", "core-agent", "--model",
                                       f"scripted:{session}", "--sandbox", "local", "--all", "--quiet",
                                       "--store", str(store)])
    assert result.exit_code == 0, result.output
    with open_store(store) as opened:
        (run,) = list_runs(opened)
        assert run.accuracy == 1.0  # each task did talk to its scripted model ...
    assert _opened_since(before) == set()  # ... whose server and connections closed with the task


# --- report.json: read by the engine, the same for every scaffold ------------------------------

# What each capsule's agent leaves at /workspace/report.json: nothing, or this line.
GARBLED = "echo 'not json{' > /workspace/report.json"
REASONS = {"silent": ("no_report", "the agent wrote no report at /workspace/report.json"),
           "garbled": ("invalid_report",
                       "/workspace/report.json is not valid JSON (Expecting value: line 1 column 1 (char 0))")}


def _report_suite(root: Path) -> Path:
    """Two capsules. The oracle's reproduce command fails for `silent` and writes a malformed report
    for `garbled`; neither has an output its extract rules can read, so the oracle writes no report."""
    for capsule_id, reproduce in (("silent", "exit 3"), ("garbled", GARBLED)):
        doc = good_capsule_doc(capsule_id)
        doc["reproduce"] = reproduce
        for question in doc["questions"]:
            question["extract"] = {"file": "results/never-written.json", "key": "x"}
        write_capsule(root / "capsules", capsule_id, doc)
    return root


def _sessions(folder: Path, agent: str) -> Path:
    """Scripted sessions per capsule: `silent` only talks; `garbled` writes the malformed report first."""
    folder.mkdir()
    talk = [{"content": [{"type": "text", "text": "I am done."}]}] * 3
    if agent == "core-agent":
        write = {"content": [{"type": "tool_use", "name": "bash", "input": {"command": GARBLED}}]}
        protocol = {}
    else:
        write = {"content": [{"type": "tool_use", "name": "Bash", "input": {"command": GARBLED, "description": "w"}}]}
        protocol = {"protocol": "anthropic-messages", "side_replies": True}
    for capsule_id, steps in (("silent", talk), ("garbled", [write, *talk])):
        (folder / f"{capsule_id}.json").write_text(json.dumps({**protocol, "model": "claude-sonnet-4-6",
                                                               "steps": steps}))
    return folder


@pytest.mark.docker
@pytest.mark.parametrize("scaffold", ["core-agent", "oracle", "claude-code"])
def test_a_missing_or_malformed_report_ends_the_same_way_whatever_the_scaffold(scaffold, tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    suite = _report_suite(tmp_path / "suite")
    model = ["--model", f"scripted:{_sessions(tmp_path / 'sessions', scaffold)}"] if scaffold != "oracle" else []
    store = tmp_path / "results.sqlite"
    result = CliRunner().invoke(main, ["--suite", str(suite), "run", "--scaffold", scaffold, *model, "--all",
                                       "--level", "hard", "--infra-retries", "0", "--quiet", "--store", str(store)])
    assert result.exit_code == 0, result.output
    with open_store(store) as opened:
        (run,) = list_runs(opened)
        tasks = {t["capsule_id"]: t for t in show_json(opened, run.id)["tasks"]}
    for capsule_id, (outcome, reason) in REASONS.items():
        task = tasks[capsule_id]
        assert task["outcome"] == outcome, task
        # The engine's reason first; after it, the scaffold's own account of how it ended, if it gave one.
        assert task["error"] == reason or task["error"].startswith(reason + "; "), task["error"]
        assert not any(q["reported_present"] for q in task["questions"])
