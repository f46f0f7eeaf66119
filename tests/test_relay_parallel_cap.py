"""A per-task dollar cap holds when an agent fires many calls at once.

Twenty simultaneous calls go through the real relay to a fake upstream on 127.0.0.1 that takes its
time and bills about a million input tokens for each. The relay reserves each call's worst case and
admits a call beside others only when that fits what is left, so the spend stays within the cap,
past it by at most one call's worth (the lone call a task may always make while its budget is not
spent: agents/relay/budget.py says why).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from corebench_runner.agents.relay.server import MeteringRelay
from corebench_runner.models.pricing import Price
from corebench_runner.records import Usage

REAL_KEY = "sk-REAL-key-0123456789"
MILLION = 1_000_000
CAP = 0.5
CALLS = 20


class Biller(BaseHTTPRequestHandler):
    """A slow upstream that answers every call with ~1M input tokens of usage; counts what reaches it."""

    reached = 0
    in_flight = 0
    most_in_flight = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        with Biller.lock:
            Biller.reached += 1
            Biller.in_flight += 1
            Biller.most_in_flight = max(Biller.most_in_flight, Biller.in_flight)
        time.sleep(0.4)  # long enough that every call the relay lets through is in flight at once
        with Biller.lock:
            Biller.in_flight -= 1
        body = json.dumps({"id": "r", "object": "response", "model": "gpt-test", "output": [],
                           "usage": {"input_tokens": MILLION, "output_tokens": 100}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        return


@pytest.fixture
def upstream():
    Biller.reached = Biller.in_flight = Biller.most_in_flight = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Biller)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _call(port: int, token: str, statuses: list[int]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"model": "gpt-test", "input": "summarise the paper " * 20, "max_output_tokens": 1000})
    connection.request("POST", "/v1/responses", body=body, headers={"authorization": f"Bearer {token}",
                                                                     "content-type": "application/json"})
    statuses.append(connection.getresponse().status)
    connection.close()


def _twenty_at_once(upstream, input_price: float) -> tuple[MeteringRelay, list[int], float]:
    price = Price(input=input_price, output=10.0, cache_write=input_price * 1.25, cache_read=input_price / 10)
    one_call = price.cost(Usage(input_tokens=MILLION, output_tokens=100))
    relay = MeteringRelay(f"http://127.0.0.1:{upstream.server_port}/v1", REAL_KEY, protocol="openai-responses",
                          cost=lambda model, usage: price.cost(usage), max_cost_usd=CAP)
    statuses: list[int] = []
    with relay:
        threads = [threading.Thread(target=_call, args=(relay.port, relay.token, statuses)) for _ in range(CALLS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    return relay, statuses, one_call


def test_twenty_parallel_calls_of_a_dollar_each_spend_one_call_past_a_half_dollar_cap(upstream):
    relay, statuses, one_call = _twenty_at_once(upstream, input_price=1.0)  # $1.001 a call
    assert len(statuses) == CALLS
    assert relay.usage.cost_usd <= CAP + one_call  # was $20: every call saw an untouched budget
    assert Biller.reached == 1 and statuses.count(200) == 1 and statuses.count(400) == CALLS - 1
    assert relay.budget_exceeded.is_set()


def test_cheap_parallel_calls_still_run_side_by_side_within_the_cap(upstream):
    relay, statuses, one_call = _twenty_at_once(upstream, input_price=0.1)  # $0.101 a call
    assert relay.usage.cost_usd <= CAP + one_call
    assert Biller.reached == 5 and Biller.most_in_flight >= 2  # calibrated by the first, then in parallel
    assert statuses.count(200) == 5 and statuses.count(400) == CALLS - 5
