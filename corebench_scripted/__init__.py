"""The scripted model: test doubles users drive too (`--model scripted:FILE`), apart from the engine.

Local servers speak the providers' wire protocols on 127.0.0.1, playing scripted sessions: the
Anthropic Messages API (messages_api.py, streamed through sse.py) and OpenAI's Responses and Chat
Completions (openai_api.py, shapes in openai_wire.py), built on the relay's HTTP code
(corebench_runner/agents/relay/http.py). sessions.py picks and checks the session files;
provider.py (and openai_client.py) is the `scripted` model provider, registered through the
`corebench.models` entry point like a third party's. corebench_runner never imports this package.
"""
