"""The relay an agent talks to, for the model API it speaks, and what it forwards to.

The key stays on the host: the relay holds it; the container only gets the relay's per-task token.
"""

from __future__ import annotations

from collections.abc import Callable

from corebench_runner.agents.relay.server import CostFunction, MeteringRelay
from corebench_runner.agents.relay.usage import MESSAGES, RESPONSES
from corebench_runner.errors import UserError
from corebench_runner.models.base import RemoteModel
from corebench_runner.models.pricing import find_price, load_prices
from corebench_runner.records import Limits, Usage
from corebench_runner.settings import load_settings


# api -> (key variable, base URL variable, public API)
def upstream_of(model: RemoteModel, api: str) -> tuple[str, str, str]:
    """(base URL, API key, model id) the relay forwards to; the key stays on the host. The client
    already resolved both from its flags, the provider's environment variables and the public API,
    and refused to be made without a key."""
    if not model.protocol.startswith(api):  # e.g. codex given an anthropic: model
        raise UserError(f"this agent speaks the {'OpenAI' if api == 'openai' else 'Anthropic'} API, but --model "
                        f"{model.name} is {model.protocol}; pass --model {api}:MODEL (or a scripted session whose "
                        f"protocol is {'openai-responses or openai-chat' if api == 'openai' else 'anthropic-messages'})")
    return model.base_url.rstrip("/"), model.api_key, model.model


def price_lookup() -> CostFunction:
    prices = load_prices()

    def cost(model_id: str, usage: Usage) -> float | None:
        price = find_price(model_id, prices)
        return price.cost(usage) if price else None

    return cost


# The relay's protocol for each API; its OpenAI routes serve Responses and Chat Completions alike.
PROTOCOLS = {"anthropic": MESSAGES, "openai": RESPONSES}


def start_relay(api: str, base_url: str, api_key: str, limits: Limits, host: str, model_id: str,
                on_usage: Callable[[Usage], object] | None = None) -> MeteringRelay:
    """A relay on the host's address on the container network (all addresses where that one cannot be
    bound, e.g. when the engine runs in a VM); the per-task token still guards it. Every call is
    pinned to the run's model."""
    settings = dict(cost=price_lookup(), max_cost_usd=limits.max_cost_usd, max_tokens=limits.max_tokens,
                    ca_file=load_settings().ca_bundle, protocol=PROTOCOLS[api], model=model_id, on_usage=on_usage)
    try:
        relay = MeteringRelay(base_url, api_key, host=host, **settings)
    except OSError:
        relay = MeteringRelay(base_url, api_key, host="0.0.0.0", **settings)
    return relay.start()
