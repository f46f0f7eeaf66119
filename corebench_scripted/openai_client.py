"""A scripted model speaking an OpenAI protocol; apart from provider.py so that Anthropic and
scripted-Anthropic runs never load the openai SDK."""

from __future__ import annotations

from pathlib import Path

from corebench_runner.models.openai_client import OpenAIClient
from corebench_scripted.messages_api import Script
from corebench_scripted.provider import SCRIPTED_KEY


class ScriptedOpenAIClient(OpenAIClient):
    """Plays an OpenAI script ("protocol": "openai-responses" | "openai-chat") through a local OpenAI server."""

    def __init__(self, script_file: Path, script: Script) -> None:
        from corebench_scripted.openai_api import OpenAIServer

        self.server = OpenAIServer(script.steps, api_key=SCRIPTED_KEY, restart_per_conversation=True,
                                   side_replies=script.side_replies, model=script.model).start()
        super().__init__(script.model, api_key=SCRIPTED_KEY, base_url=self.server.base_url, max_retries=2,
                         api="responses" if script.protocol == "openai-responses" else "chat",
                         name=f"scripted:{script_file}")

    def close(self) -> None:
        super().close()
        self.server.stop()
