"""The `scripted` model provider: `--model scripted:FILE` (or scripted:FOLDER) plays recorded sessions.

Registered through the `corebench.models` entry point exactly as a third party's provider is; the
engine never imports this package. Each client starts its own local server (messages_api.py or
openai_api.py) and talks to it with the real SDK, so a scripted run exercises the code a real one does.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from corebench_runner.errors import UserError
from corebench_runner.models.anthropic_client import AnthropicClient
from corebench_runner.models.base import ModelClient
from corebench_scripted.messages_api import Script, load_script
from corebench_scripted.sessions import check_session_file, check_sessions, session_file

SCRIPTED_KEY = "scripted-local-key"  # the local server accepts only this; it is no secret


class ScriptedClient(AnthropicClient):
    """Plays an Anthropic Messages script through a local Messages API server, with the real SDK: no key.

    The script restarts with each new conversation, so tasks run one after another each get
    the whole script. The server lives as long as this client (close() stops it).
    """

    protocol = "anthropic-messages"

    def __init__(self, script_file: Path, script: Script) -> None:
        from corebench_scripted.messages_api import MessagesServer

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
    from corebench_scripted.openai_client import ScriptedOpenAIClient  # the openai SDK only when used

    return ScriptedOpenAIClient(script_file, script)


class ScriptedProvider:
    """The provider plugin: called as every provider is, plus the check a run makes before it starts."""

    def __call__(self, name: str, base_url: str | None = None, capsule_id: str | None = None) -> ModelClient:
        if base_url:
            raise UserError("--base-url cannot be used with --model scripted:FILE (it starts its own local server)")
        return scripted_client(session_file(Path(name).expanduser(), capsule_id))

    def check_run(self, name: str, capsule_ids: Iterable[str]) -> None:
        """Every session the run will play, step by step, before anything starts."""
        check_sessions(Path(name).expanduser(), capsule_ids)


PROVIDER = ScriptedProvider()
