"""The review web app (Flask): the queue, one page per answer, verdict posts, images from the artifacts folder.

Every request opens the store afresh, so two reviewers on one store see each other's verdicts
on reload, and verdicts go through review.record_verdict exactly as in the terminal. Safety:
pages render through the report's autoescaping jinja2 Environment; a Content-Security-Policy
lets only this app's own script file run (no inline script, no eval); a verdict post must carry
the token this server put in its pages and the id of the verdict the reviewer saw; images are
served only from the store's artifacts folder, and only when they really are PNG or JPEG.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from flask import Flask, Response, abort, flash, get_flashed_messages, redirect, request, send_from_directory
from werkzeug.datastructures import MultiDict
from werkzeug.security import safe_join

from corebench_runner.errors import UserError
from corebench_runner.report.site import make_environment, template_dirs
from corebench_runner.report.transcripts import IMAGE_TYPES
from corebench_runner.review import batch as batch_rules, set_aside as set_aside_rules, verdicts as review
from corebench_runner.review.screen import fmt_value
from corebench_runner.review.triage_view import ORDERS
from corebench_runner.review_web.pages import (
    STATUS_CHOICES,
    Filters,
    answer_exists,
    answer_page,
    answer_suite,
    neighbours,
    queue_context,
)
from corebench_runner.review_web.triage import register_triage
from corebench_runner.store.database import Store, open_store
from corebench_runner.store.set_asides import WHOLE_TASK

HERE = Path(__file__).resolve().parent
MAX_ID = 2 ** 63 - 1  # SQLite's largest integer: a larger id in a URL is no answer (404), not a server error
# Scripts only from this app's own files: no inline script, no eval, nothing from elsewhere.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'; connect-src 'self'")
IMAGE_MAGIC = {magic: media_type for media_type, (_, magic) in IMAGE_TYPES.items()}


class ReviewApp:
    """What the routes share: the store's path, the defaults from the command line, the session's token."""

    def __init__(self, store_path: Path, defaults: Filters, reviewer: str, viewed_dir: Path,
                 suite_root: Path | None = None) -> None:
        self.store_path = Path(store_path)
        self.defaults = defaults
        self.reviewer = reviewer
        self.viewed_dir = viewed_dir
        self.token = secrets.token_urlsafe(32)  # put in every form; a cross-site post cannot know it
        self.template_dirs = template_dirs(None, suite_root)
        self.env: jinja2.Environment = make_environment([HERE / "templates", *self.template_dirs])
        self.env.filters["json_value"] = fmt_value
        with self.store() as store:  # also checks, before the first page, that the store opens
            self.artifacts_dir = store.artifacts_dir.resolve()

    def store(self) -> Store:
        return open_store(self.store_path, create=False)

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        html = self.env.get_template(template).render(
            reviewer=self.reviewer, token=self.token, store_path=str(self.store_path),
            messages=get_flashed_messages(with_categories=True), **context)
        return Response(html, status=status, mimetype="text/html")

    def forged(self, form: MultiDict, what: str) -> Response | None:
        """The refusal of a post whose token is not this session's (a cross-site or stale form), else None."""
        if hmac.compare_digest(form.get("token", ""), self.token):
            return None
        return self.render("review_error.html", status=403, message=(
            f"refused: this {what} did not come from a page of this review session (its token is missing or out "
            "of date); nothing was recorded. Reload the answer's page and try again."))

    def filters(self, args: MultiDict) -> Filters:
        """Filters from a page's URL; a parameter left out takes the command line's value."""
        def pick(name: str, default: str | None) -> str | None:
            return (args.get(name) or None) if name in args else default
        status = pick("status", self.defaults.status) or "disputed"
        if status not in STATUS_CHOICES:
            raise UserError(f"status {status!r}: choose one of {', '.join(STATUS_CHOICES)}")
        answers = self.defaults.answer_ids
        if "answer" in args:
            try:
                answers = tuple(int(value) for value in args.getlist("answer") if value)
            except ValueError:
                raise UserError("answer: give answer ids as numbers, as `corebench review list` prints them") from None
        order = pick("order", self.defaults.order) or "default"
        if order not in ORDERS:
            raise UserError(f"order {order!r}: choose one of {', '.join(ORDERS)}")
        return Filters(run_id=pick("run", self.defaults.run_id), model=pick("model", self.defaults.model),
                       capsule_id=pick("capsule", self.defaults.capsule_id), status=status, answer_ids=answers,
                       order=order)


def create_app(store_path: Path, defaults: Filters, reviewer: str, viewed_dir: Path,
               suite_root: Path | None = None) -> Flask:
    state = ReviewApp(store_path, defaults, reviewer, viewed_dir, suite_root)
    app = Flask(__name__, static_folder=str(HERE / "static"), static_url_path="/static")
    app.secret_key = secrets.token_bytes(32)  # signs the flash messages' cookie; new each start
    app.extensions["corebench_review"] = state

    def url(path: str, filters: Filters) -> str:
        query = urlencode(filters.query(), doseq=True)
        return f"{path}?{query}" if query else path

    state.env.globals["url"] = url

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"  # a reload always shows the store as it is now
        return response

    @app.errorhandler(UserError)
    def user_error(exc: UserError) -> Response:
        status = 409 if isinstance(exc, review.SettledMeanwhile) else 400
        return state.render("review_error.html", status=status, message=exc.message)

    @app.get("/")
    def queue() -> Response:
        filters = state.filters(request.args)
        with state.store() as store:
            return state.render("review_queue.html", **queue_context(store, filters))

    @app.get(f"/answer/<int(max={MAX_ID}):answer_id>")
    def answer(answer_id: int) -> Response:
        with state.store() as store:
            if not answer_exists(store, answer_id):
                return state.render("review_error.html", status=404, message=(
                    f"there is no answer {answer_id} in {state.store_path}; pick one from the queue"))
        return show_answer(answer_id, state.filters(request.args))

    def repeated_post(store: Store, answer_id: int, seen: int, choice: str, reason: str) -> review.ReviewRecord | None:
        """The verdict already recorded when a form is sent twice (a double click), else None."""
        later = [r for r in review.history(store, answer_id) if r.id > seen]
        if len(later) == 1 and (later[0].reviewer, later[0].new_status, later[0].reason) == (
                state.reviewer, choice, reason.strip()):
            return later[0]
        return None

    def show_answer(answer_id: int, filters: Filters, status: int = 200, reason: str = "",
                    problem: str | None = None, aside_problem: str | None = None) -> Response:
        with state.store() as store:
            page = answer_page(store, answer_id, state.viewed_dir, filters.answers(store))
            previous, following, position, size = neighbours(store, filters, answer_id)
        return state.render("review_answer.html", status=status, page=page, filters=filters, previous=previous,
                            following=following, position=position, size=size, reason=reason, problem=problem,
                            aside_problem=aside_problem)

    @app.post(f"/answer/<int(max={MAX_ID}):answer_id>/verdict")
    def verdict(answer_id: int) -> Response:
        filters = state.filters(request.args)
        form = request.form
        if refused := state.forged(form, "verdict"):
            return refused
        choice, reason = form.get("verdict", ""), form.get("reason", "")
        with state.store() as store:
            if choice == "skip":
                _, following, _, _ = neighbours(store, filters, answer_id)
                return redirect(url(f"/answer/{following}" if following else "/", filters), code=303)
            try:
                seen = int(form.get("seen", ""))
            except ValueError:
                raise UserError("refused: the verdict form lacks the verdict it was given on; reload the page") from None
            identical = identical_seen(store, answer_id, filters, form.get("identical", ""))
            applied = ""
            try:
                result = batch_rules.decide(store, {answer_id: seen, **identical}, choice, reviewer=state.reviewer,
                                            reason=reason)
                record, applied = result.recorded[0], result.applied_phrase()
            except review.SettledMeanwhile as exc:
                record = repeated_post(store, answer_id, seen, choice, reason)
                if record is None:
                    return show_answer(answer_id, filters, status=409, reason=reason, problem=exc.message)
            except UserError as exc:
                return show_answer(answer_id, filters, status=400, reason=reason, problem=exc.message)
            _, following, _, _ = neighbours(store, filters, answer_id)
        flash(f"answer {answer_id}: {record.old_status} → {record.new_status}, recorded by {record.reviewer}"
              + (f"; {applied}" if applied else ""))
        if following is None or following == answer_id:
            return redirect(url("/", filters), code=303)
        return redirect(url(f"/answer/{following}", filters), code=303)

    def identical_seen(store: Store, answer_id: int, filters: Filters, posted: str) -> dict[int, int]:
        """The identical answers the page listed ("id:seen ..."), kept only where they are identical still:
        an answer the reviewer never saw listed is never decided by this post."""
        still = {v.answer_id for v in batch_rules.batch_of(store, answer_id, filters.answers(store)).others}
        seen: dict[int, int] = {}
        for pair in posted.split():
            other, _, review_id = pair.partition(":")
            if other.isdigit() and review_id.isdigit() and int(other) in still:
                seen[int(other)] = int(review_id)
        return seen

    # ------------------------------------------------------------- set aside (review/set_aside.py)

    @app.post("/answer/<int:answer_id>/set-aside")
    def set_aside(answer_id: int) -> Response:
        """Set this answer's question (or its whole task) aside in its suite, or reinstate it; a reason is required."""
        filters = state.filters(request.args)
        form = request.form
        if refused := state.forged(form, "form"):
            return refused
        with state.store() as store:
            if not answer_exists(store, answer_id):
                return state.render("review_error.html", status=404, message=f"there is no answer {answer_id}")
            view = review.get_answer(store, answer_id)
            question = view.key.question if form.get("scope") == "question" else WHOLE_TASK
            target = set_aside_rules.Target(answer_suite(store, view), view.key.capsule_id, question)
            decide = set_aside_rules.reinstate if form.get("action") == "reinstate" else set_aside_rules.set_aside
            try:
                record = decide(store, target, reviewer=state.reviewer, reason=form.get("reason", ""), source="web")
            except UserError as exc:
                return show_answer(answer_id, filters, status=400, aside_problem=exc.message)
        flash(f"{'set aside' if record.active else 'reinstated'}: {target.describe()}, recorded by {record.reviewer}")
        return redirect(url(f"/answer/{answer_id}", filters), code=303)

    @app.get("/artifacts/<path:relative>")
    def artifact(relative: str) -> Response:
        """A PNG or JPEG under the store's artifacts folder; anything else, or anything outside it, is refused."""
        root = state.artifacts_dir
        joined = safe_join(str(root), relative)
        path = Path(joined).resolve() if joined else None
        if path is None or not path.is_relative_to(root) or not path.is_file():
            abort(404, "no such image in the artifacts folder")
        with path.open("rb") as handle:
            head = handle.read(8)
        media_type = next((kind for magic, kind in IMAGE_MAGIC.items() if head.startswith(magic)), None)
        if media_type is None:
            abort(404, "only PNG and JPEG images are served")
        return send_from_directory(path.parent, path.name, mimetype=media_type)

    @app.get(f"/viewed/<int(max={MAX_ID}):task_id>/<name>")
    def viewed(task_id: int, name: str) -> Response:
        """A figure the agent viewed, as written (after its PNG/JPEG check) by the report's transcript code."""
        return send_from_directory(state.viewed_dir / str(task_id), name)

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status=204)  # browsers ask for one; no icon is better than a 404 in the console

    @app.get("/report-static/<name>")
    def report_static(name: str) -> Response:
        """The static report's stylesheet, so the transcript reads the same in both places."""
        for folder in state.template_dirs:
            if (folder / "static" / name).is_file():
                return send_from_directory(folder / "static", name)
        abort(404)

    register_triage(app)  # the triage proposal and its accept button (review_web/triage.py)
    return app
