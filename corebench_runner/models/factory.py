"""Turn a --model spec PROVIDER:NAME into a ModelClient: anthropic:MODEL, openai:MODEL, or a plugin's.

A provider is a plugin (registry.py): a callable (name, base_url, capsule_id) -> ModelClient under an entry
point in group `corebench.models`. It may also offer `check_run(name, capsule_ids)`, which a run calls
before it starts (the `scripted` provider, corebench_scripted/, checks every session it will play there).
The two below are corebench-runner's own entry points.
"""

from __future__ import annotations

from collections.abc import Iterable

from corebench_runner import registry
from corebench_runner.errors import UserError
from corebench_runner.models.anthropic_client import AnthropicClient
from corebench_runner.models.base import ModelClient


def anthropic_model(name: str, base_url: str | None = None, capsule_id: str | None = None) -> ModelClient:
    return AnthropicClient(name, base_url=base_url)


def openai_model(name: str, base_url: str | None = None, capsule_id: str | None = None) -> ModelClient:
    from corebench_runner.models.openai_client import OpenAIClient  # 0.2-1 s to load: only when used

    return OpenAIClient(name, base_url=base_url)


def _provider(spec: str) -> tuple[object, str]:
    provider, _, rest = spec.partition(":")
    if not rest.strip():
        raise UserError(f"--model {spec!r}: expected PROVIDER:NAME with PROVIDER one of "
                        f"{', '.join(registry.names('models'))}, e.g. anthropic:claude-opus-5-5 or scripted:session.json")
    return registry.load("models", provider, flag=f"--model {spec!r}")[0], rest.strip()


def make_model(spec: str, base_url: str | None = None, capsule_id: str | None = None) -> ModelClient:
    """A client for `spec`; a bad spec or a missing key raises UserError naming --model.

    scripted:FOLDER plays FOLDER/<capsule_id>.json, else FOLDER/default.json (corebench_scripted/sessions.py).
    """
    factory, name = _provider(spec)
    return factory(name, base_url=base_url, capsule_id=capsule_id)  # type: ignore[operator]


def check_model_for_run(spec: str, capsule_ids: Iterable[str]) -> None:
    """The provider's own check of everything a run of these capsules will ask of it, when it has one."""
    factory, name = _provider(spec)
    check_run = getattr(factory, "check_run", None)
    if callable(check_run):
        check_run(name, list(capsule_ids))
