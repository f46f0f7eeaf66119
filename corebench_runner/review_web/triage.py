"""Triage on the web review page: the proposal shown with its reasoning, and a button that accepts it.

Kept apart from app.py: `register_triage(app)` adds the template's `triage_proposal(answer_id)`
and the accept route. Accepting goes through review/triage_view.accept_proposal, as the terminal's
`a` key does: a verdict signed by the reviewer, source "triage accepted", refused when another
verdict or a newer proposal came in since the page was shown.
"""

from __future__ import annotations

from flask import Flask, Response, flash, redirect, request

from corebench_runner.errors import UserError
from corebench_runner.review.triage_view import accept_proposal
from corebench_runner.review_web.pages import neighbours
from corebench_runner.store.triage import CATEGORY_WORDS, VERDICT_WORDS, Proposal, latest_proposal


def register_triage(app: Flask) -> None:
    state = app.extensions["corebench_review"]

    def triage_proposal(answer_id: int) -> Proposal | None:
        with state.store() as store:
            return latest_proposal(store, answer_id)

    state.env.globals.update(triage_proposal=triage_proposal, verdict_words=VERDICT_WORDS,
                             category_words=CATEGORY_WORDS)
    url = state.env.globals["url"]

    @app.post("/answer/<int:answer_id>/triage-accept")
    def accept_triage(answer_id: int) -> Response:
        filters = state.filters(request.args)
        form = request.form
        if refused := state.forged(form, "acceptance"):
            return refused
        try:
            seen, proposal_id = int(form.get("seen", "")), int(form.get("proposal", ""))
        except ValueError:
            raise UserError("refused: the form lacks the verdict and the proposal it was given on; reload the page") \
                from None
        with state.store() as store:
            record = accept_proposal(store, answer_id, reviewer=state.reviewer, seen_review_id=seen,
                                     proposal_id=proposal_id)
            _, following, _, _ = neighbours(store, filters, answer_id)
        flash(f"answer {answer_id}: {record.old_status} → {record.new_status}, triage proposal accepted by "
              f"{record.reviewer}")
        if following is None or following == answer_id:
            return redirect(url("/", filters), code=303)
        return redirect(url(f"/answer/{following}", filters), code=303)
