"""Dollar cost of model calls, from a price table a user can extend.

Prices ship in corebench_runner/data/prices.toml ($ per million tokens). A user adds or
overrides models in $COREBENCH_PRICES, else <config dir>/prices.toml. A model without a
price costs None (unknown) and is warned about once; it is never guessed.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import platformdirs

from corebench_runner.errors import UserError
from corebench_runner.records import Usage

PRICES_ENV = "COREBENCH_PRICES"
PRICE_FIELDS = ("input", "output", "cache_write", "cache_read")
log = logging.getLogger(__name__)
_warned: set[str] = set()


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float

    def cost(self, usage: Usage) -> float:
        return (usage.input_tokens * self.input + usage.output_tokens * self.output
                + usage.cache_creation_input_tokens * self.cache_write
                + usage.cache_read_input_tokens * self.cache_read) / 1_000_000


def user_prices_path() -> Path:
    """Where a user's own prices live: $COREBENCH_PRICES, else the config folder."""
    explicit = os.environ.get(PRICES_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return Path(platformdirs.user_config_dir("corebench-runner")) / "prices.toml"


def _parse(text: str, source: str) -> dict[str, Price]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{source}: not valid TOML ({exc}); fix the file or remove it") from None
    except RecursionError:
        raise UserError(f"{source}: arrays or tables nested too deep to read; fix the file or remove it") from None
    prices: dict[str, Price] = {}
    for model, row in (data.get("models") or {}).items():
        if not isinstance(row, dict) or any(not isinstance(row.get(f), (int, float)) for f in PRICE_FIELDS):
            raise UserError(f"{source}: [models.\"{model}\"] needs numbers for {', '.join(PRICE_FIELDS)} "
                            "($ per million tokens)")
        prices[model] = Price(**{f: float(row[f]) for f in PRICE_FIELDS})
    return prices


def load_prices(user_file: Path | None = None) -> dict[str, Price]:
    """Bundled prices overlaid with the user's file (if it exists)."""
    bundled = resources.files("corebench_runner").joinpath("data/prices.toml").read_text()
    prices = _parse(bundled, "corebench_runner/data/prices.toml")
    path = user_file or user_prices_path()
    if path.is_file():
        prices.update(_parse(path.read_text(), str(path)))
    elif os.environ.get(PRICES_ENV) and user_file is None:
        raise UserError(f"${PRICES_ENV}: {path} does not exist; create it or unset the variable")
    return prices


def bare_model_name(model: str) -> str:
    """'anthropic:claude-opus-5' -> 'claude-opus-5'."""
    return model.split(":", 1)[1] if ":" in model else model


# What may follow a listed name in a dated alias: 20250929, 2024-07-18 or latest.
_DATED_SUFFIX = re.compile(r"\d{8}|\d{4}-\d{2}-\d{2}|latest")


def find_price(model: str, prices: dict[str, Price]) -> Price | None:
    """Exact name first, else the listed name the model's name extends by a date or "-latest".

    Only a date may be dropped: "claude-opus-4-6" is a different model from "claude-opus-4",
    at a third of its price, so an unlisted version is unknown, never a cousin's price.
    """
    name = bare_model_name(model)
    if name in prices:
        return prices[name]
    candidates = [known for known in prices
                  if name.startswith(known + "-") and _DATED_SUFFIX.fullmatch(name[len(known) + 1:])]
    return prices[max(candidates, key=len)] if candidates else None


class CostMeter:
    """Prices usage for one model; warns once per process when the model has no price."""

    def __init__(self, model: str, prices: dict[str, Price] | None = None) -> None:
        self.model = model
        self.price = find_price(model, prices if prices is not None else load_prices())

    def priced(self, usage: Usage) -> Usage:
        usage.cost_usd = self.price.cost(usage) if self.price else None
        if self.price is None:
            warn_unpriced(self.model)
        return usage


def warn_unpriced(model: str) -> None:
    """Say once per process that a model's cost is unknown, and where to add its price."""
    if model not in _warned:
        _warned.add(model)
        log.warning("no price for model %r: its cost is recorded as unknown; add it to %s",
                    model, user_prices_path())


def require_price(model: str, cap_flag: str) -> None:
    """A dollar cap needs the model's price: refuse before anything runs rather than spend unmetered."""
    if find_price(model, load_prices()) is None:
        raise UserError(f"{cap_flag}: model {bare_model_name(model)!r} has no price, so the cap cannot be "
                        f"enforced; add [models.\"{bare_model_name(model)}\"] to {user_prices_path()} "
                        "(see docs/models.md) or drop the cap")
