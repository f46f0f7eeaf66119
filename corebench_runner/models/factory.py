"""Turn a --model spec PROVIDER:NAME into a ModelClient: anthropic:MODEL, openai:MODEL, scripted:FILE, or a plugin's.

A provider is a plugin (registry.py): a callable (name, base_url, capsule_id) -> ModelClient under an entry
point in group `corebench.models`. The three below are corebench-runner's own entry points.
"""

from __future__ import annotations

from pathlib import Path

from corebench_runner import registry
from corebench_runner.errors import UserError
from corebench_runner.models.anthropic_client import AnthropicClient
from corebench_runner.models.base import ModelClient
from corebench_runner.models.scripted_sessions import check_session_file, session_file
from corebench_runner.servers.messages_api import Script, load_script

SCRIPTED_KEY = "scripted-local-key"  # the local server accepts only this; it is no secret


class ScriptedClient(AnthropicClient):
    """Plays an Anthropic Messages script through a local Messages API server, with the real SDK: no key.

    The script restarts with each new conversation, so tasks run one after another each get
    the whole script. The server lives as long as this client (close() stops it).
    """

    protocol = "anthropic-messages"

    def __init__(self, script_file: Path, script: Script) -> None:
        from corebench_runner.servers.messages_api import MessagesServer

        self.server = MessagesServer(script.steps, api_key=SCRIPTED_KEY, restart_per_conversation=True,
                                     side_replies=script.side_replies).start()
        super().__init__(script.model, api_key=SCRIPTED_KEY, base_url=self.server.url, max_retries=2,
                         name=f"scripted:{script_file}")

    def close(self) -> None:
        super().close()
        self.server.stop()


def scripted_client(script_file: Path) -> ModelClient:
    """A client playing the script file, through the local server of the protocol the file names."""
    check_session_file(script_file)  # a malformed step is one line naming it, not a server error mid-run
    script = load_script(script_file)
    if script.protocol == "anthropic-messages":
        return ScriptedClient(script_file, script)
    from corebench_runner.models.scripted_openai import ScriptedOpenAIClient  # the openai SDK only when used

    return ScriptedOpenAIClient(script_file, script)


def anthropic_model(name: str, base_url: str | None = None, capsule_id: str | None = None) -> ModelClient:
    return AnthropicClient(name, base_url=base_url)


def openai_model(name: str, base_url: str | None = None, capsule_id: str | None = None) -> ModelClient:
    from corebench_runner.models.openai_client import OpenAIClient  # 0.2-1 s to load: only when used

    return OpenAIClient(name, base_url=base_url)


def scripted_model(name: str, base_url: str | None = None, capsule_id: str | None = None) -> ModelClient:
    if base_url:
        raise UserError("--base-url cannot be used with --model scripted:FILE (it starts its own local server)")
    return scripted_client(session_file(Path(name).expanduser(), capsule_id))


def make_model(spec: str, base_url: str | None = None, capsule_id: str | None = None) -> ModelClient:
    """A client for `spec`; a bad spec or a missing key raises UserError naming --model.

    scripted:FOLDER plays FOLDER/<capsule_id>.json, else FOLDER/default.json (scripted_sessions.py).
    """
    provider, _, rest = spec.partition(":")
    if not rest.strip():
        raise UserError(f"--model {spec!r}: expected PROVIDER:NAME with PROVIDER one of "
                        f"{', '.join(registry.names('models'))}, e.g. anthropic:claude-opus-5-5 or scripted:session.json")
    factory = registry.load("models", provider, flag=f"--model {spec!r}")[0]
    return factory(rest.strip(), base_url=base_url, capsule_id=capsule_id)
