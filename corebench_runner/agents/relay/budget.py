"""Admitting model calls through the relay so parallel calls cannot spend past a task's cap.

Checking only what was spent lets twenty calls in flight at once each see an untouched budget. So a
model call is admitted with a reservation of its worst case, and the reservation is released when
the call settles (its usage recorded, or it failed):

- a call whose worst case does not fit but would run alone (nothing else in flight) is admitted while
  the budget is not spent, as one call always was, and reserves everything left, so nothing runs
  beside it. This is the one
  overshoot the cap allows: a single call's cost past what was left (refusing it instead would stop
  every agent whose request asks for more output than is left, long before the cap);
- until one call has settled, calls go one at a time: the first answer is what calibrates the rest;
- otherwise a call is admitted only when its worst case fits what is left after every reservation in
  flight; if it does not, it waits for one to settle, then is judged again (admitted, or refused once
  the budget is spent).

A call's worst case: its input as many tokens as its body has bytes (no tokenizer makes fewer bytes
than tokens of text), priced as the dearer of plain and cache-written input, plus its `max_tokens`
(or `max_output_tokens` / `max_completion_tokens`; DEFAULT_OUTPUT_TOKENS when none) of output; and
never less than the dearest call this task has paid for, since a server may hold context the body
does not carry (OpenAI's `previous_response_id`). An upstream that bills more than that for calls
running side by side is the one way past the cap by more than a call.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Callable

from corebench_runner.records import Usage

DEFAULT_OUTPUT_TOKENS = 64_000  # a request that names no output cap may use about this much (the largest models)
_OUTPUT_CAPS = ("max_tokens", "max_output_tokens", "max_completion_tokens")


@dataclass
class Reservation:
    """What one admitted call may spend at worst; dollars None when its price is unknown."""

    dollars: float | None
    tokens: int


class CallBudget:
    """The reservations of one relay's calls in flight; `spent` reads what settled calls used."""

    def __init__(self, max_cost_usd: float | None, max_tokens: int | None, spent: Callable[[], Usage]) -> None:
        self.max_cost_usd = max_cost_usd
        self.max_tokens = max_tokens
        self._spent = spent
        self._held: list[Reservation] = []
        self._settled = 0
        self._dearest = Reservation(0.0, 0)  # the most one settled call cost: a floor on every worst case
        self._changed = threading.Condition()

    @property
    def capped(self) -> bool:
        return self.max_cost_usd is not None or self.max_tokens is not None

    def worst_case(self, raw: bytes, price: Callable[[str, Usage], float | None]) -> Reservation:
        """A call's worst case as its request body tells it (module docstring); admit() raises it to the
        dearest call so far."""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        model = str(body.get("model") or "")
        asked = [body.get(name) for name in _OUTPUT_CAPS]
        output = next((int(n) for n in asked if isinstance(n, (int, float)) and n > 0), DEFAULT_OUTPUT_TOKENS)
        input_tokens = len(raw)
        plain = price(model, Usage(input_tokens=input_tokens, output_tokens=output, cost_usd=None, calls=1))
        written = price(model, Usage(cache_creation_input_tokens=input_tokens, output_tokens=output, cost_usd=None,
                                     calls=1))
        return Reservation(None if plain is None or written is None else max(plain, written), input_tokens + output)

    def admit(self, worst: Reservation, refusal: Callable[[], str]) -> tuple[Reservation | None, str]:
        """(the reservation held, "") once the call may go, or (None, why) when the budget is spent.
        Waits while the call does not fit beside the calls in flight."""
        asked = worst
        with self._changed:
            while True:
                floor = self._dearest  # as of now: calls that waited are judged by what settled meanwhile
                worst = Reservation(None if asked.dollars is None else max(asked.dollars, floor.dollars or 0.0),
                                    max(asked.tokens, floor.tokens))
                reason = refusal()
                if reason:
                    return None, reason
                if self._settled and self._fits(worst):
                    self._held.append(worst)
                    return worst, ""
                if not self._held:  # alone: it goes, and nothing goes beside it
                    held = Reservation(self._everything_left(worst), max(worst.tokens, self._tokens_left()))
                    self._held.append(held)
                    return held, ""
                self._changed.wait()

    def settle(self, held: Reservation, usage: Usage | None) -> None:
        """The call is over (usage None when nothing was billed): release its reservation, wake waiters."""
        with self._changed:
            self._held.remove(held)
            if usage is not None:
                self._settled += 1
                tokens = usage.input_tokens + usage.output_tokens + usage.cache_creation_input_tokens \
                    + usage.cache_read_input_tokens
                self._dearest = Reservation(max(self._dearest.dollars or 0.0, usage.cost_usd or 0.0),
                                            max(self._dearest.tokens, tokens))
            self._changed.notify_all()

    def _fits(self, worst: Reservation) -> bool:
        spent = self._spent()
        if self.max_cost_usd is not None:
            if worst.dollars is None or spent.cost_usd is None or any(h.dollars is None for h in self._held):
                return False  # an unknown price is never run beside another call
            if spent.cost_usd + sum(h.dollars or 0.0 for h in self._held) + worst.dollars > self.max_cost_usd:
                return False
        if self.max_tokens is not None:
            used = spent.input_tokens + spent.output_tokens + spent.cache_creation_input_tokens \
                + spent.cache_read_input_tokens
            if used + sum(h.tokens for h in self._held) + worst.tokens > self.max_tokens:
                return False
        return True

    def _everything_left(self, worst: Reservation) -> float | None:
        spent = self._spent().cost_usd
        if self.max_cost_usd is None or spent is None or worst.dollars is None:
            return worst.dollars
        return max(worst.dollars, self.max_cost_usd - spent)

    def _tokens_left(self) -> int:
        if self.max_tokens is None:
            return 0
        spent = self._spent()
        return self.max_tokens - (spent.input_tokens + spent.output_tokens + spent.cache_creation_input_tokens
                                  + spent.cache_read_input_tokens)
