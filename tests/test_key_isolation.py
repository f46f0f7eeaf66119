"""The API key never enters a container, through the real engine: the oracle, and every agent CLI.

core-agent has its own key-absence test (test_core_agent.py). Here `corebench run` gets a canary
key in the environment: with the oracle, a capsule's reproduction scans its own container for
it; with claude-code, codex and opencode, the agent's own tool call scans every process's
environment and command line and every file, while the agent is running.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from corebench_runner.cli import main
from support_capsules import good_capsule_doc, write_capsule

SCANNER = '''
import base64, json, os
patterns = {name: base64.b64decode(open(f"data/{name}.b64").read()).decode() for name in ("key", "marker")}
hits = {name: [] for name in patterns}
for name, pattern in patterns.items():
    hits[name] += [f"env:{k}" for k, v in os.environ.items() if pattern in v]
    for root, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/dev")]
        for file in files:
            path = os.path.join(root, file)
            try:
                if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) < 50_000_000:
                    with open(path, "rb") as handle:
                        if pattern.encode() in handle.read():
                            hits[name].append(path)
            except OSError:
                pass
os.makedirs("results", exist_ok=True)
json.dump({"key_hits": len(hits["key"]), "where": hits["key"], "marker_hits": len(hits["marker"])},
          open("results/scan.json", "w"))
'''


@pytest.mark.docker
def test_oracle_container_never_holds_the_key(tmp_path: Path, monkeypatch):
    canary = f"sk-ant-canary-{secrets.token_hex(12)}"
    marker = f"marker-{secrets.token_hex(8)}"
    monkeypatch.setenv("ANTHROPIC_API_KEY", canary)

    doc = good_capsule_doc("keyscan")
    doc["reproduce"] = "python3 code/scan.py"
    doc["questions"] = [
        {"text": "Report how many places in the container hold the API key.", "runs": [0, 0, 0],
         "extract": {"file": "results/scan.json", "key": "key_hits"}},
        {"text": "Report how many files hold the planted marker.", "runs": [1, 1, 1],
         "extract": {"file": "results/scan.json", "key": "marker_hits"}},
    ]
    folder = write_capsule(tmp_path / "suite" / "capsules", "keyscan", doc)
    (folder / "code" / "scan.py").write_text(SCANNER)
    # Neither secret is written in plain form: the scanner must not find its own inputs.
    (folder / "data" / "key.b64").write_text(base64.b64encode(canary.encode()).decode())
    (folder / "data" / "marker.b64").write_text(base64.b64encode(marker.encode()).decode())
    (folder / "data" / "planted.txt").write_text(f"the scanner must find {marker} here\n")
    (folder / "capsule.toml").write_text(tomli_w.dumps(doc))

    store = tmp_path / "results.sqlite"
    runner = CliRunner()
    result = runner.invoke(main, ["--suite", str(tmp_path / "suite"), "run", "--scaffold", "oracle", "--model", "none",
                                  "--level", "hard", "--capsules", "keyscan", "--store", str(store), "--quiet"])
    assert result.exit_code == 0, result.output
    shown = json.loads(runner.invoke(main, ["show", "", "--json", "--store", str(store)]).output)
    task = shown["tasks"][0]
    verdicts = {q["question"]: (q["status"], q.get("reported")) for q in task["questions"]}
    # The scanner works (it finds the planted marker) and finds the key nowhere.
    assert verdicts["Report how many files hold the planted marker."][0] == "correct", task
    assert verdicts["Report how many places in the container hold the API key."][0] == "correct", task
    assert task["outcome"] == "correct"


AGENT_SCANNER = '''
import base64, json, os
key = base64.b64decode(open("data/key.b64").read()).decode()
marker = os.environ["SCAN_MARKER"]
found = {"key": [], "marker_files": [], "marker_processes": []}
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:  # every process: environment and command line
    for part in ("environ", "cmdline"):
        try:
            data = open(f"/proc/{pid}/{part}", "rb").read().decode(errors="replace")
        except OSError:
            continue
        if key in data:
            found["key"].append(f"/proc/{pid}/{part}")
        if marker in data:
            found["marker_processes"].append(f"/proc/{pid}/{part}")
for root, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/dev")]
    for file in files:
        path = os.path.join(root, file)
        try:
            if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) < 50_000_000:
                data = open(path, "rb").read()
                if key.encode() in data:
                    found["key"].append(path)
                if marker.encode() in data:
                    found["marker_files"].append(path)
        except OSError:
            pass
os.makedirs("results", exist_ok=True)
json.dump(found, open("results/scan.json", "w"))
'''


@pytest.fixture(params=["claude-code", "codex", "opencode"])
def agent_upstream(request, monkeypatch):
    """(agent, canary key, --model, --base-url): a local server for the agent's API that takes only the canary."""
    from corebench_scripted.messages_api import MessagesServer
    from corebench_scripted.openai_api import OpenAIServer

    agent = request.param
    canary = f"sk-canary-{secrets.token_hex(12)}"
    if agent == "claude-code":
        monkeypatch.setenv("ANTHROPIC_API_KEY", canary)
        with MessagesServer(api_key=canary, side_replies=True) as server:
            yield agent, canary, "anthropic:claude-sonnet-4-6", server.url, server
    else:
        monkeypatch.setenv("OPENAI_API_KEY", canary)
        with OpenAIServer(api_key=canary, side_replies=True, model="gpt-5") as server:
            yield agent, canary, "openai:gpt-5", server.base_url, server


@pytest.mark.docker
@pytest.mark.slow
def test_no_agent_container_holds_the_key_in_env_files_or_processes(agent_upstream, tmp_path: Path):
    from support_agents import report_command, step

    agent, canary, model, base_url, server = agent_upstream
    marker = f"marker-{secrets.token_hex(8)}"
    doc = good_capsule_doc("agentscan")
    folder = write_capsule(tmp_path / "suite" / "capsules", "agentscan", doc)
    (folder / "code" / "scan.py").write_text(AGENT_SCANNER)
    (folder / "data" / "key.b64").write_text(base64.b64encode(canary.encode()).decode())
    (folder / "data" / "planted.txt").write_text(f"the scanner must find {marker} here\n")
    # The scan runs as the agent's own tool call, while the agent and its relay connection are alive.
    server.add(step(agent, "Scanning.", f"SCAN_MARKER={marker} python3 code/scan.py"),
               step(agent, "Reporting.", report_command({"scanned": True})), step(agent, "Done."))
    store = tmp_path / "results.sqlite"
    result = CliRunner().invoke(main, ["--suite", str(tmp_path / "suite"), "run", "--scaffold", agent, "--model", model,
                                       "--base-url", base_url, "--level", "hard", "--capsules", "agentscan",
                                       "--store", str(store), "--quiet"])
    assert result.exit_code == 0, result.output
    shown = json.loads(CliRunner().invoke(main, ["show", "", "--json", "--store", str(store)]).output)
    (task,) = shown["tasks"]
    from corebench_runner.store.database import open_store

    with open_store(store, create=False) as opened:
        scan = json.loads((opened.artifacts_dir / task["artifacts_dir"] / "results" / "scan.json").read_text())
    # The scanner works: it finds the marker in the planted file and in its own process.
    assert any(p.endswith("planted.txt") for p in scan["marker_files"]), scan
    assert scan["marker_processes"], scan
    # And finds the key nowhere: no process's environment or command line, no file.
    assert scan["key"] == [], scan
    # While the model server did get the key, from the relay on the host.
    assert server.requests and canary in json.dumps(server.requests[0].headers)
