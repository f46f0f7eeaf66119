"""Errors a model client raises when a call fails for reasons outside the agent's control."""

from __future__ import annotations


class ModelUnavailable(Exception):
    """The model API could not answer, even after retries (network, 5xx, 529, 429, bad request).

    A scaffold ends the task with Outcome.INFRA_ERROR and this message; it is never scored as a
    wrong answer. Mistakes the user can fix (missing or rejected key, unknown model) are raised
    as UserError instead.
    """
