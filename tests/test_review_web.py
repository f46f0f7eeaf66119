"""`corebench review --web` over real HTTP: the installed command runs as a child process on a free
port with a real SQLite store, and the tests talk to it as browsers (and attackers) would.

Safety: images come only from the artifacts folder and only as PNG/JPEG (traversal refused), a
verdict post needs the session's token, a verdict on an answer someone settled meanwhile is
refused, agent-written text arrives escaped under a script-src 'self' policy.
"""

from __future__ import annotations

import http.client
import io
import json
import signal
import socket
from urllib.parse import urlparse

import pytest
import requests
from bs4 import BeautifulSoup
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.review.verdicts import history
from corebench_runner.review_web.pages import Filters
from corebench_runner.store.database import open_store
from support_report import HOSTILE_LINK, HOSTILE_SCRIPT
from support_review_web import HOSTILE_REPORTED, RUN_ID, review_server, review_store, thread_server


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """One store for the tests that record nothing (the server starts in seconds, not instantly)."""
    folder = tmp_path_factory.mktemp("review-web")
    store, ids = review_store(folder / "results.sqlite")
    store.close()
    return folder / "results.sqlite", ids


@pytest.fixture
def fresh(tmp_path):
    store, ids = review_store(tmp_path / "results.sqlite")
    store.close()
    return tmp_path / "results.sqlite", ids


@pytest.fixture(scope="module")
def server(sample):
    path, _ = sample
    with review_server(path, "--reviewer", "alice") as running:
        yield running


def page(url: str, session: requests.Session | None = None) -> BeautifulSoup:
    response = (session or requests).get(url, timeout=30)
    assert response.status_code == 200, response.text
    return BeautifulSoup(response.text, "html.parser")


def form_fields(soup: BeautifulSoup) -> dict[str, str]:
    form = soup.select_one("form#verdict")
    return {field["name"]: field.get("value", "") for field in form.select("input[type=hidden]")}


def raw_get(url: str, path: str, host: str | None = None) -> tuple[int, str]:
    """A GET with the path sent exactly as written (a browser or requests would normalise the dots)."""
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    connection.putrequest("GET", path, skip_host=host is not None)
    if host is not None:
        connection.putheader("Host", host)
    connection.endheaders()
    response = connection.getresponse()
    return response.status, response.read().decode("utf-8", "replace")


def body_location(url: str, path: str) -> str:
    response = requests.get(url.rstrip("/") + path, allow_redirects=False, timeout=30)
    return response.headers["Location"]


def test_the_queue_lists_open_disputes_with_counts_runs_and_filters(server):
    soup = page(server.url)
    assert "3 answer(s) to review" in server.output() and "signed as alice" in server.output()
    assert server.url.startswith("http://127.0.0.1:")
    counts = soup.select_one("#counts").get_text(" ", strip=True)
    assert "disputed 3 open" in counts and "correct 1" in counts and "4 answers in scope" in counts
    capsules = [row.select("td")[1].get_text() for row in soup.select("#answers tbody tr")]
    assert capsules == ["capsule-fig", "capsule-num", "capsule-xss"]
    run_row = soup.select_one("#runs tbody tr").get_text(" ", strip=True)
    assert RUN_ID in run_row and "25.0%" in run_row
    narrowed = page(server.url + "?capsule=capsule-num&status=disputed")
    assert [r.select("td")[1].get_text() for r in narrowed.select("#answers tbody tr")] == ["capsule-num"]
    everything = page(server.url + "?status=all")
    assert len(everything.select("#answers tbody tr")) == 4
    wrong = requests.get(server.url + "?run=no-such-run", timeout=30)
    assert wrong.status_code == 400 and "no-such-run" in wrong.text


def test_the_command_lines_filters_scope_the_queue(sample):
    path, ids = sample
    with review_server(path, "--reviewer", "alice", "--run", "run-web", "--capsule", "capsule-num") as running:
        assert "1 answer(s) to review" in running.output()
        soup = page(running.url)
        assert [r.select("td")[1].get_text() for r in soup.select("#answers tbody tr")] == ["capsule-num"]
        assert "1 answers in scope" in soup.select_one("#counts").get_text(" ", strip=True)
    # --answer: exactly those answers, whatever their status (here one the grader called correct).
    with thread_server(path, "alice", Filters(answer_ids=(ids.correct, ids.number))) as url:
        soup = page(url)
        assert [r.select("td")[1].get_text() for r in soup.select("#answers tbody tr")] == ["capsule-num", "capsule-ok"]
        answer = page(f"{url}answer/{ids.correct}")
        assert "2 of 2" in answer.select_one(".crumbs").get_text()


def test_a_page_shows_question_value_references_rule_evidence_and_figures(server, sample):
    _, ids = sample
    soup = page(f"{server.url}answer/{ids.figure}")
    facts = soup.select_one("#facts").get_text(" ", strip=True)
    assert "From fig 2, report the peak value of the red curve." in facts
    assert soup.select_one("#reported").get_text() == "14"
    assert [li.get_text() for li in soup.select(".references li")] == ["14.2", "14.2", "14.2"]
    assert soup.select_one("#official").get_text().startswith("incorrect: 14 is outside")
    assert "read from a figure" in soup.select_one("#grader").get_text()
    assert "$ python code/plot.py" in soup.select_one("#evidence").get_text()
    assert soup.select_one("details#figures").has_attr("open")  # a figure question shows them unfolded
    sources = [img["src"] for img in soup.select("#figures img")]
    assert len(sources) == 2  # the figure viewed and the PNG produced; not the SVG, not the text file
    for src in sources:
        response = requests.get(server.url.rstrip("/") + src, timeout=30)
        assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"
        assert response.content.startswith(b"\x89PNG")
    assert soup.select("#transcript li.event.image img")  # the transcript beside it, folded
    assert not soup.select_one("details#transcript").has_attr("open")


def test_images_come_only_from_the_artifacts_folder_and_only_as_png_or_jpeg(server, sample):
    path, _ = sample
    artifacts = path.parent / "results-artifacts"
    produced = f"artifacts/{RUN_ID}/capsule-fig-0/produced"
    (artifacts / RUN_ID / "capsule-fig-0" / "produced" / "passwd.png").symlink_to("/etc/passwd")
    for attempt in ("/artifacts/../../etc/passwd", "/artifacts/%2e%2e/%2e%2e/etc/passwd",
                    "/artifacts/..%2f..%2f..%2fetc%2fpasswd", "/artifacts//etc/passwd",
                    f"/{produced}/../../../../../../etc/passwd", f"/{produced}/passwd.png",
                    "/viewed/1/..%2f..%2f..%2fetc%2fpasswd", "/report-static/..%2f..%2fpyproject.toml"):
        status, body = raw_get(server.url, attempt)
        if status == 308:  # werkzeug merges doubled slashes first; where it sends is checked the same way
            status, body = raw_get(server.url, urlparse(body_location(server.url, attempt)).path)
        assert status in (400, 404), f"{attempt}: {status}"
        assert "root:" not in body and "[project]" not in body, attempt
    for refused in ("notes.txt", "evil.svg"):
        status, body = raw_get(server.url, f"/{produced}/{refused}")
        assert status == 404 and "onload" not in body and "peak near" not in body, refused
    status, _ = raw_get(server.url, f"/artifacts/{RUN_ID}/capsule-num-0/transcript.json")
    assert status == 404  # a transcript is not an image, even inside the folder
    assert raw_get(server.url, f"/{produced}/fig2.png")[0] == 200


def test_a_verdict_post_without_the_session_token_is_refused(server, sample):
    path, ids = sample
    fields = form_fields(page(f"{server.url}answer/{ids.number}"))
    target = f"{server.url}answer/{ids.number}/verdict"
    forged = {"verdict": "correct", "reason": "forged", "seen": fields["seen"]}
    # What a hostile page's form would send: no token, or a guessed one, from another origin.
    for extra in ({}, {"token": "guessed"}, {"token": ""}):
        response = requests.post(target, data={**forged, **extra}, headers={"Origin": "http://evil.example"},
                                 allow_redirects=False, timeout=30)
        assert response.status_code == 403 and "nothing was recorded" in response.text
    with open_store(path) as store:
        assert history(store, ids.number) == []
        assert store.latest_status(ids.number) == "disputed"


def test_a_changing_verdict_without_a_reason_is_refused_and_keeps_the_page(server, sample):
    path, ids = sample
    session = requests.Session()
    fields = form_fields(page(f"{server.url}answer/{ids.number}", session))
    response = session.post(f"{server.url}answer/{ids.number}/verdict",
                            data={**fields, "verdict": "correct", "reason": "   "}, timeout=30)
    assert response.status_code == 400
    assert "needs a reason" in BeautifulSoup(response.text, "html.parser").select_one("#problem").get_text()
    with open_store(path) as store:
        assert history(store, ids.number) == []


def test_two_reviewers_see_each_others_verdicts_and_a_stale_verdict_is_refused(fresh):
    path, ids = fresh
    with review_server(path, "--reviewer", "alice") as alice, review_server(path, "--reviewer", "bob") as bob:
        alice_fields = form_fields(page(f"{alice.url}answer/{ids.number}"))
        bob_fields = form_fields(page(f"{bob.url}answer/{ids.number}"))
        settled = requests.post(f"{alice.url}answer/{ids.number}/verdict", allow_redirects=False, timeout=30,
                                data={**alice_fields, "verdict": "correct", "reason": "rounded from 0.9312"})
        assert settled.status_code == 303
        assert urlparse(settled.headers["Location"]).path == f"/answer/{ids.hostile}"  # on to the next dispute
        late = requests.post(f"{bob.url}answer/{ids.number}/verdict", timeout=30,
                             data={**bob_fields, "verdict": "incorrect", "reason": "0.93 is not 0.9312"})
        assert late.status_code == 409
        soup = BeautifulSoup(late.text, "html.parser")
        assert "ruled on by someone else" in soup.select_one("#problem").get_text()
        assert soup.select_one("textarea#reason").get_text() == "0.93 is not 0.9312"  # nothing typed is lost
        assert "alice" in soup.select_one("#history").get_text()  # the page now shows what alice decided
        reloaded = page(f"{bob.url}answer/{ids.number}")
        assert "rounded from 0.9312" in reloaded.select_one("#history").get_text()
        assert "correct" in reloaded.select_one("#standing").get_text()
        queue = page(bob.url)
        assert "disputed 2 open" in queue.select_one("#counts").get_text(" ", strip=True)
        assert "50.0%" in queue.select_one("#runs tbody tr").get_text()
    with open_store(path) as store:
        rows = history(store, ids.number)
        assert [(r.reviewer, r.new_status, r.source) for r in rows] == [("alice", "correct", "cli")]


def test_pages_carry_the_policy_and_agent_text_arrives_escaped(server, sample):
    _, ids = sample
    response = requests.get(f"{server.url}answer/{ids.hostile}", timeout=30)
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    soup = BeautifulSoup(response.text, "html.parser")
    assert [s.get("src") for s in soup.select("script")] == ["/static/review.js"]  # the only script, a file
    assert not soup.select("[onerror], [onload], a[href^=javascript]")
    assert soup.select_one("#reported").get_text() == json.dumps(HOSTILE_REPORTED)  # JSON spelling, as in the terminal
    assert HOSTILE_SCRIPT in soup.select_one("#transcript").get_text()
    assert HOSTILE_LINK in soup.select_one("#grader").get_text()
    assert HOSTILE_SCRIPT not in response.text  # as markup it is nowhere, only as escaped text
    queue = requests.get(server.url, timeout=30)
    listed = BeautifulSoup(queue.text, "html.parser")
    assert [s.get("src") for s in listed.select("script")] == ["/static/review.js"]
    assert json.dumps(HOSTILE_REPORTED) in listed.select_one("#answers").get_text()
    assert HOSTILE_SCRIPT not in queue.text
    script = requests.get(f"{server.url}static/review.js", timeout=30)
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]


def test_only_its_own_host_names_are_answered(server):
    port = urlparse(server.url).port
    assert raw_get(server.url, "/", host=f"localhost:{port}")[0] == 200
    status, _ = raw_get(server.url, "/", host=f"rebound.evil.example:{port}")
    assert status == 400  # a page whose domain was pointed at 127.0.0.1 cannot read the token


def test_ctrl_c_stops_the_server_and_mistakes_are_one_line(sample):
    path, _ = sample
    with review_server(path) as running:
        assert requests.get(running.url, timeout=30).status_code == 200
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=20) == 0
    assert "stopped; the verdicts given are in the store" in running.output()
    assert "Traceback" not in running.output()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["review", "--store", str(path), "--web", "--port", str(port)])
    assert result.exit_code == 2 and result.output.strip().startswith(f"error: --port {port}: cannot listen")
    assert len(result.output.strip().splitlines()) == 1
    result = CliRunner().invoke(main, ["review", "--store", str(path), "--web", "--run", "nope"])
    assert result.exit_code == 2 and result.output.startswith("error: ") and "nope" in result.output


class RacingInput(io.BytesIO):
    """The terminal reviewer's typing; the first read (at the verdict prompt) lets `meanwhile` run first."""

    def __init__(self, text: str, meanwhile) -> None:
        super().__init__(text.encode())
        self.meanwhile = meanwhile

    def read1(self, size: int = -1) -> bytes:
        if self.meanwhile and size != 0:  # click probes the stream with read(0) before the command runs
            self.meanwhile, run = None, self.meanwhile
            run()
        return super().read1(size)

    def read(self, size: int | None = -1) -> bytes:
        return self.read1(-1 if size is None else size)


def test_the_terminal_walk_also_refuses_a_verdict_overtaken_by_another(fresh):
    """Same rule in both places: bob's terminal shows the answer, alice settles it in her browser, bob answers."""
    path, ids = fresh

    def alice_in_the_browser() -> None:
        with thread_server(path, "alice") as alice:
            fields = form_fields(page(f"{alice}answer/{ids.number}"))
            response = requests.post(f"{alice}answer/{ids.number}/verdict", allow_redirects=False, timeout=30,
                                     data={**fields, "verdict": "incorrect", "reason": "the test set differs"})
            assert response.status_code == 303

    result = CliRunner().invoke(main, ["review", "--store", str(path), "--capsule", "capsule-num", "--reviewer", "bob"],
                                input=RacingInput("c\nrounded from 0.9312\n", alice_in_the_browser))
    assert result.exit_code == 0, result.output
    assert "ruled on by someone else" in result.output and "now stands incorrect" in result.output
    with open_store(path) as store:
        assert [(r.reviewer, r.new_status) for r in history(store, ids.number)] == [("alice", "incorrect")]


def test_a_form_sent_twice_records_one_verdict_and_an_unknown_answer_is_a_clear_404(fresh):
    path, ids = fresh
    with thread_server(path, "alice") as url:
        fields = form_fields(page(f"{url}answer/{ids.figure}"))
        data = {**fields, "verdict": "correct", "reason": "peaks at 14.2"}
        for _ in range(2):  # a double click posts the same form twice
            response = requests.post(f"{url}answer/{ids.figure}/verdict", data=data, allow_redirects=False,
                                     timeout=30)
            assert response.status_code == 303
        missing = requests.get(f"{url}answer/999", timeout=30)
        assert missing.status_code == 404 and "there is no answer 999" in missing.text
    with open_store(path) as store:
        assert [(r.reviewer, r.new_status) for r in history(store, ids.figure)] == [("alice", "correct")]
