"""The API key never enters a container, through the real engine, for the oracle scaffold too.

core-agent and command have their own key-absence tests (test_core_agent.py,
test_command_scaffold.py); this one runs `corebench run --scaffold oracle` with a canary key in
the environment and a capsule whose reproduction scans its own container for it.
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
