"""A dollar cap with a model that has no price is refused before the run starts, in one line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.store.database import open_store
from support_messages import reply, tool_use


def run(tmp_path, model_name: str, *caps: str):
    session = tmp_path / "session.json"
    session.write_text(json.dumps({"protocol": "openai-responses", "model": model_name,
                                   "steps": [reply(tool_use("submit", answers={}))]}))
    store = tmp_path / "results.sqlite"
    result = CliRunner().invoke(main, ["run", "--model", f"scripted:{session}", "--scaffold", "core-agent",
                                       "--capsules", "iris-lda", "--sandbox", "local", "--quiet",
                                       "--store", str(store), *caps])
    return result, store


def test_a_cap_on_an_unpriced_model_is_refused_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("COREBENCH_PRICES", str(tmp_path / "my-prices.toml"))
    (tmp_path / "my-prices.toml").write_text("")
    for cap in (["--max-cost-per-task", "0.5"], ["--max-cost", "3"]):
        result, store = run(tmp_path, "gpt-unpriced-9", *cap)
        assert result.exit_code == 2, result.output
        line = result.output.strip()
        assert "\n" not in line and "Traceback" not in line
        assert cap[0] in line and "'gpt-unpriced-9' has no price" in line and "my-prices.toml" in line
        with open_store(store) as opened:
            assert opened.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
