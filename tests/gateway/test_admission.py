"""Admission control and the budget from arrival: a worker predicts each request's CPU and wait,
refuses at once what it could not answer within the budget instead of answering everyone late,
serves what it admitted in order, and no answer outlives its budget. The admission's own tests
drive it with injected clocks (event-loop time, loop CPU, run-queue wait)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.admission import (
    ALPHA,
    BASE_UNITS,
    CPU_PER_UNIT_S,
    IDLE_BELOW,
    OVERRUN_UP,
    PROBE_S,
    SHRINK,
    Admission,
    Prediction,
    Predictor,
    Refusal,
    Ticket,
    upstream_deadline,
)
from silos.sandbox import RunningSandbox
from tests.gateway.test_resilience import QUERY, subject

pytestmark = pytest.mark.anyio

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def post(client: httpx.AsyncClient, sandbox: RunningSandbox) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.post("/graphql", json={
        "query": QUERY, "variables": {"id": subject(sandbox)}},
        headers={"Accept": GRAPHQL_RESPONSE})
    return response, time.perf_counter() - started


async def slow(silos: dict[str, httpx.AsyncClient], silo: str, ms: int) -> None:
    await silos[silo].post("/_sandbox/faults", json={"latency_ms": ms})


async def test_a_full_worker_refuses_at_once_with_retry_after(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient]) -> None:
    await slow(silos, "shopify", 400)
    async with gateway(settings={"max_in_flight": 1, "queue_wait_ms": 0}) as client:
        first = asyncio.create_task(post(client, graph_sandbox))
        await asyncio.sleep(0.1)
        refused, waited = await post(client, graph_sandbox)
        answered, _ = await first
        again, _ = await post(client, graph_sandbox)
    assert refused.status_code == 503 and waited < 0.3
    assert refused.headers["retry-after"] == "1"
    assert refused.json() == {"errors": [{"message": "the gateway is at capacity; retry "
                                                     "shortly",
                                          "extensions": {"code": "OVERLOADED"}}]}
    assert answered.status_code == again.status_code == 200
    assert "errors" not in answered.json()


async def test_an_answer_that_would_outlive_its_budget_is_cut(
        gateway: Callable[..., Any], tmp_path: Path) -> None:
    """The registry is the gateway's own database and not behind the loaders' deadline: a
    registry that hangs (here: another process holds SQLite's exclusive lock) still cannot
    hold an answer past the budget."""
    from sqlalchemy.ext.asyncio import create_async_engine

    path = tmp_path / "registry.sqlite"
    hanging = create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 5})
    async with gateway(budget_ms=300, engines={"identity": hanging}) as client:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            started = time.perf_counter()
            response = await client.post("/graphql", json={
                "query": "{ customers(first: 2) { edges { node { id } } } }"},
                headers={"X-Request-ID": "req-7"})
            took = time.perf_counter() - started
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await asyncio.sleep(0.2)  # the cut work lets go of its connection
    await hanging.dispose()
    assert response.status_code == 504 and took < 0.3 + 0.15
    assert response.json() == {"errors": [{
        "message": "the request did not complete within its 300 ms budget",
        "extensions": {"code": "BUDGET_EXCEEDED", "requestId": "req-7"}}]}


def test_upstream_calls_stop_before_the_budget_ends() -> None:
    assert upstream_deadline(100.0, 2.0) == pytest.approx(101.8)
    assert upstream_deadline(100.0, 10.0) == pytest.approx(109.75)
    assert upstream_deadline(100.0, 0.5) == pytest.approx(100.45)


class Meter:
    """The injected clocks, moved by hand: event-loop time, and the loop thread's CPU and
    run-queue wait."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.cpu = 0.0
        self.waited = 0.0

    def work(self, cpu_s: float, wall_s: float | None = None, waited_s: float = 0.0) -> None:
        """The loop spends ``cpu_s`` of CPU (and ``waited_s`` waiting for a core) over
        ``wall_s`` (default: both) seconds."""
        self.cpu += cpu_s
        self.waited += waited_s
        self.t += cpu_s + waited_s if wall_s is None else wall_s


def admission(meter: Meter, max_in_flight: int = 64, **options: Any) -> Admission:
    """Waits bounded by the budget only, unless ``max_wait_s`` says otherwise; a running window
    of 50 ms (the next starts when those running have less predicted CPU than that left)."""
    options.setdefault("max_wait_s", 10.0)
    options.setdefault("window_s", 0.05)
    return Admission(max_in_flight, clock=lambda: meter.t,
                     meter=lambda: (meter.cpu, meter.waited), **options)


def enter(gate: Admission, meter: Meter, key: str, cost: int = 100,
          budget_s: float = 2.0) -> Ticket:
    ticket = gate.arrive(key, cost, meter.t, budget_s)
    assert isinstance(ticket, Ticket), ticket
    return ticket


def teach(gate: Admission, meter: Meter, key: str, cpu_s: float, times: int = 1) -> None:
    """Run ``times`` requests of ``key``, one after the other, each using ``cpu_s``."""
    for _ in range(times):
        ticket = enter(gate, meter, key)
        meter.work(cpu_s)
        gate.finish(ticket)


async def test_the_cost_prediction_learns_from_measurements() -> None:
    meter = Meter()
    gate = admission(meter)
    first = gate.predict("S1", 100)
    assert not first.known
    teach(gate, meter, "S1", 0.030)
    assert gate.predict("S1", 100) == Prediction(pytest.approx(0.030), 0.0, True)
    teach(gate, meter, "S1", 0.030, times=5)
    assert gate.predict("S1", 100).cpu_s == pytest.approx(0.030)
    teach(gate, meter, "S1", 0.060, times=30)  # the operation became dearer: followed
    before = gate.predict("S1", 100).cpu_s
    assert before == pytest.approx(0.060, rel=0.01)
    ticket = enter(gate, meter, "S1")  # 10 ms of CPU and 40 ms waiting on silos
    meter.work(0.010, wall_s=0.050)
    gate.finish(ticket)
    learned = gate.predict("S1", 100)
    assert learned.cpu_s == pytest.approx(before + ALPHA * (0.010 - before))
    assert learned.io_s == pytest.approx(ALPHA * 0.040)


async def test_an_unseen_document_is_predicted_from_its_static_cost() -> None:
    meter = Meter()
    gate = admission(meter)
    unseen = gate.predict("big", 900)
    assert unseen == Prediction(pytest.approx((900 + BASE_UNITS) * CPU_PER_UNIT_S), 0.0, False)
    # documents of cost 400 measured at 20 ms: 40 µs per unit, where the prior said 10
    for _ in range(300):
        ticket = enter(gate, meter, "S1", cost=400)
        meter.work(0.020)
        gate.finish(ticket)
    scaled = gate.predict("big", 900)
    assert not scaled.known
    assert scaled.cpu_s == pytest.approx((900 + BASE_UNITS) * 0.020 / (400 + BASE_UNITS),
                                         rel=0.01)
    assert gate.predict("big", 2000).cpu_s > scaled.cpu_s  # dearer by its static cost


async def test_cpu_is_shared_among_the_requests_running_together() -> None:
    meter = Meter()
    gate = admission(meter, window_s=1.0)
    one, two = enter(gate, meter, "a"), enter(gate, meter, "b")
    assert one.running and two.running
    meter.work(0.020)
    gate.sample()
    assert gate.measured(one) == gate.measured(two) == pytest.approx(0.010)
    gate.finish(one)
    meter.work(0.010)
    gate.finish(two)
    assert gate.predict("a", 100).cpu_s == pytest.approx(0.010)
    assert gate.predict("b", 100).cpu_s == pytest.approx(0.020)


async def test_a_request_that_cannot_finish_within_its_budget_is_refused_on_arrival() -> None:
    """Each "heavy" request is known to cost 0.5 s of CPU; with a 2 s budget (margin: 200 ms
    reserve + 50 ms window) three fit one after the other, the fourth would finish at 2 s."""
    meter = Meter()
    gate = admission(meter)
    teach(gate, meter, "heavy", 0.5)
    tickets = [enter(gate, meter, "heavy") for _ in range(3)]
    assert [t.running for t in tickets] == [True, False, False]
    refused = gate.arrive("heavy", 100, meter.t, 2.0)
    assert refused == Refusal(1, "budget")
    assert len(gate.queue) == 2 and gate.stats.refused == 1
    assert isinstance(gate.arrive("cheap", 0, meter.t, 2.0), Ticket)  # 1 ms fits behind them
    meter.work(0.4)  # the running one is predicted to need 0.1 s more: the backlog shrank
    gate.sample()
    assert gate.backlog() == pytest.approx(0.1 + 0.5 + 0.5 + gate.predict("cheap", 0).cpu_s)
    # the wait a queued request may have is bounded by queue_wait_ms too
    strict = admission(meter, max_wait_s=0.6)
    teach(strict, meter, "heavy", 0.5)
    assert isinstance(strict.arrive("heavy", 100, meter.t, 2.0), Ticket)
    assert isinstance(strict.arrive("heavy", 100, meter.t, 2.0), Ticket)  # waits 0.5 s
    assert strict.arrive("heavy", 100, meter.t, 2.0) == Refusal(1, "wait")  # would wait 1 s
    # an idle worker runs whatever comes, even what it predicts over the budget
    idle = admission(meter)
    teach(idle, meter, "huge", 5.0)
    assert enter(idle, meter, "huge").running
    assert idle.arrive("heavy", 100, meter.t, 2.0) == Refusal(4, "budget")


async def test_a_key_that_recently_finished_late_keeps_that_margin() -> None:
    """Timeline pages (0.1 s of CPU, 0.3 s on silos) finish when predicted, then one finishes
    0.5 s late (it waited behind others at each silo round). Behind a running 1.15 s request, the
    next page would fit the budget only without that margin: refused. Pages on time again
    bring the margin down, and it fits."""
    meter = Meter()
    gate = admission(meter)
    teach(gate, meter, "heavy", 1.15)
    for _ in range(3):  # unseen, then known and on time
        page = enter(gate, meter, "page")
        meter.work(0.1, wall_s=0.4)
        gate.finish(page)
    assert gate.predict("page", 100).overrun_s == pytest.approx(0.0, abs=1e-9)
    late = enter(gate, meter, "page")
    meter.work(0.1, wall_s=0.9)
    gate.finish(late)
    predicted = gate.predict("page", 100)
    assert predicted.overrun_s == pytest.approx(OVERRUN_UP * 0.5)

    heavy = enter(gate, meter, "heavy")
    cutoff = meter.t + 2.0 - 0.2  # the budget less the reserve
    due = meter.t + 1.15 + predicted.io_s + predicted.cpu_s  # queued behind the heavy one
    assert due + gate.window < cutoff < due + predicted.overrun_s  # the window would admit it
    refused = gate.arrive("page", 100, meter.t, 2.0)
    assert isinstance(refused, Refusal) and refused.reason == "budget"
    meter.work(1.15)
    gate.finish(heavy)

    for _ in range(3):
        page = enter(gate, meter, "page")
        meter.work(0.1, wall_s=0.4)
        gate.finish(page)
    assert gate.predict("page", 100).overrun_s < predicted.overrun_s
    enter(gate, meter, "heavy")
    assert isinstance(gate.arrive("page", 100, meter.t, 2.0), Ticket)


async def test_max_in_flight_is_a_hard_cap_on_what_is_admitted() -> None:
    meter = Meter()
    gate = admission(meter, max_in_flight=2)
    first, second = enter(gate, meter, "a"), enter(gate, meter, "a")
    assert gate.arrive("a", 100, meter.t, 2.0) == Refusal(1, "full")
    gate.finish(first)
    assert isinstance(gate.arrive("a", 100, meter.t, 2.0), Ticket)
    assert (gate.stats.admitted, gate.stats.refused, gate.stats.peak_in_flight) == (3, 1, 2)
    assert second.running


async def test_queued_requests_start_in_order_and_are_not_refused_after_waiting() -> None:
    meter = Meter()
    gate = admission(meter)
    teach(gate, meter, "q", 0.3)
    tickets = [enter(gate, meter, "q") for _ in range(5)]
    order: list[int] = []

    async def waiter(i: int) -> None:
        assert await gate.wait(tickets[i])
        order.append(i)

    waiting = [asyncio.create_task(waiter(i)) for i in range(5)]
    for i in range(5):
        await asyncio.sleep(0)
        assert order == list(range(i + 1))  # one at a time
        meter.work(0.3)
        gate.finish(tickets[i])
    await asyncio.gather(*waiting)
    assert order == [0, 1, 2, 3, 4]
    assert gate.stats.late_refused == 0 and gate.stats.refused == 0
    arrived = tickets[-1].cutoff - upstream_deadline(0.0, 2.0)
    assert meter.t - arrived == pytest.approx(1.5)  # the last waited 1.2 s


async def test_a_queued_request_is_refused_at_its_turn_only_if_it_can_no_longer_finish() -> None:
    """The prediction was badly off: the first request, predicted at 0.1 s, ran 1.95 s; the one
    queued behind it (predicted 0.1 s) would end past its 2 s budget — refused then, not run
    to be cut. The overrun is learned."""
    meter = Meter()
    gate = admission(meter)
    teach(gate, meter, "q", 0.1)
    first, second = enter(gate, meter, "q"), enter(gate, meter, "q")
    waiting = asyncio.create_task(gate.wait(second))
    meter.work(1.95)
    gate.finish(first)
    assert await waiting is False
    assert gate.stats.late_refused == 1 and not gate.queue and not gate.running
    assert gate.predict("q", 100).cpu_s > 0.1 + ALPHA * 1.5


async def test_a_loop_sharing_its_core_predicts_longer_waits() -> None:
    """Another process takes turns on the core: the loop thread waits for it as long as it
    runs. The probes learn that a CPU second takes two; the service stretched by it is not
    mistaken for time spent on silos; half as much is admitted."""
    meter = Meter()
    gate = admission(meter)
    teach(gate, meter, "heavy", 0.4)
    for _ in range(80):
        gate.probe()
        meter.work(0.01, waited_s=0.01)
    assert gate.slowdown == pytest.approx(2.0, rel=0.01)
    ticket = enter(gate, meter, "heavy")
    meter.work(0.4, waited_s=0.4)
    gate.finish(ticket)
    assert gate.predict("heavy", 100) == Prediction(
        pytest.approx(0.4), pytest.approx(0.0, abs=1e-3), True)
    assert isinstance(gate.arrive("heavy", 100, meter.t, 2.0), Ticket)
    assert isinstance(gate.arrive("heavy", 100, meter.t, 2.0), Ticket)  # done at 1.6 s
    assert gate.arrive("heavy", 100, meter.t, 2.0) == Refusal(1, "budget")  # at 2.4 s
    for _ in range(80):  # a core of its own again
        gate.probe()
        meter.work(0.02)
    assert gate.slowdown == pytest.approx(1.0, abs=0.01)


async def test_the_running_window_keeps_the_core_busy_with_as_few_as_it_takes() -> None:
    """Requests waiting on their silos leave the core idle: with requests queued behind the
    window, it grows while the (smoothed) utilization is under 80 %, doubling under 50 %;
    heads start in order. A loop waiting for a core (another process on it) is busy, not
    idle. A probe waking more than max_loop_lag_ms late shrinks the window."""
    meter = Meter()
    gate = admission(meter, max_lag_s=0.05)
    teach(gate, meter, "q", 0.1)
    tickets = [enter(gate, meter, "q") for _ in range(12)]

    def started() -> int:
        running = [t.running for t in tickets]
        assert running == sorted(running, reverse=True), "in order"
        return sum(running)

    gate.probe()
    for _ in range(3):
        meter.work(0.010, wall_s=PROBE_S, waited_s=0.0095)  # busy, sharing its core
        gate.probe()
    assert gate.window == 0.05 and gate.util > 0.9 and started() == 1
    windows = []
    for _ in range(5):
        meter.work(0.002, wall_s=PROBE_S)  # 10 % busy: the running ones wait on silos
        gate.probe()
        windows.append(round(gate.window, 3))
        if gate.util >= IDLE_BELOW:
            assert started() * 0.1 >= gate.window  # as many as the window lets run
    # the window grows while the loop is partly busy; once it is mostly idle (those running
    # wait on their silos) every queued request starts, whatever CPU they have left
    assert windows[:2] == [0.07, 0.09] and gate.util < IDLE_BELOW
    assert started() == 12 and not gate.queue
    grown = gate.window
    meter.work(0.1)  # one long callback: the probe wakes 80 ms late
    gate.probe()
    assert gate.window == pytest.approx(max(0.05, grown * SHRINK))
    for _ in range(60):
        meter.work(0.1)
        gate.probe()
    assert gate.window == gate.stats.smallest_window_s == 0.05  # never below max_loop_lag


async def test_a_full_worker_or_a_long_queue_refuses_whatever_is_asked() -> None:
    meter = Meter()
    gate = admission(meter, max_in_flight=4, max_wait_s=0.7)
    assert gate.shed() is None
    teach(gate, meter, "q", 0.3)
    first, _ = enter(gate, meter, "q"), enter(gate, meter, "q")
    assert gate.shed() is None  # 0.6 s ahead of the next
    enter(gate, meter, "q")
    assert gate.shed() == Refusal(1, "wait")  # 0.9 s
    gate.finish(first)
    assert gate.shed() is None
    enter(gate, meter, "cheap", cost=0)
    enter(gate, meter, "cheap", cost=0)
    assert gate.shed() == Refusal(1, "full")
    assert gate.stats.refused_by == {"wait": 1, "full": 1}


async def test_a_caller_gone_while_queued_frees_its_place() -> None:
    meter = Meter()
    gate = admission(meter)
    teach(gate, meter, "q", 0.3)
    first, gone, kept = (enter(gate, meter, "q") for _ in range(3))
    waiting = asyncio.create_task(gate.wait(gone))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert list(gate.queue) == [kept]
    gate.finish(first)
    assert kept.running and not gone.running


async def test_a_request_predicted_to_miss_its_budget_is_refused_before_any_silo_call(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any],
        silos: dict[str, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request is predicted to cost 1.5 s of CPU: the one in flight is admitted (an idle
    worker runs what comes); one arriving meanwhile could not finish within its 2 s budget and
    is refused at once — while the first still waits on its silo — having called no silo."""
    from adapters.loyalty import LoyaltyAdapter

    reads: list[int] = []
    real = LoyaltyAdapter.accounts_by_cards

    async def spy(self: LoyaltyAdapter, cards: Any) -> Any:
        reads.append(len(cards))
        return await real(self, cards)

    monkeypatch.setattr(LoyaltyAdapter, "accounts_by_cards", spy)
    monkeypatch.setattr(Predictor, "predict",
                        lambda self, key, cost: Prediction(1.5, 0.0, True))

    async def upstream() -> dict[str, int]:
        counts = [(await c.get("/_sandbox/stats")).json()["endpoints"] for c in silos.values()]
        return {"loyalty reads": len(reads),
                **{f"{k} {e}": n for k, c in zip(silos, counts, strict=True)
                   for e, n in c.items()}}

    async def reset() -> None:
        reads.clear()
        for client in silos.values():
            await client.post("/_sandbox/reset")

    async with gateway(config={"identity": {"refresh_s": 0}}) as client:
        await post(client, graph_sandbox)  # warm: caches filled
        await reset()
        alone, _ = await post(client, graph_sandbox)
        one_request = await upstream()
        await reset()
        await slow(silos, "shopify", 400)
        first = asyncio.create_task(post(client, graph_sandbox))
        while not reads:  # the first is past admission and reading its sources
            await asyncio.sleep(0.005)
        refused, _ = await post(client, graph_sandbox)
        assert not first.done()
        answered, _ = await first
        both = await upstream()
    assert alone.status_code == answered.status_code == 200
    assert refused.status_code == 503  # 1.5 s left of the first, 1.5 s its own: 1.25 s over
    assert refused.headers["retry-after"] == "2"
    assert refused.json()["errors"][0]["extensions"] == {"code": "OVERLOADED"}
    assert one_request["loyalty reads"] >= 1
    assert both == one_request


async def test_a_cpu_heavy_answer_stops_resolving_at_its_budget(
        graph_sandbox: RunningSandbox, gateway: Callable[..., Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The budget is checked before each field, not only around silo calls: once the clock
    passes it mid-execution (the CPU busy in one request, the event loop never free to fire a
    timer), no further field is resolved and the answer is cut with BUDGET_EXCEEDED."""
    import schema.authorization as authorization

    real = time.monotonic
    calls = {"n": 0, "after_cut": 0}
    jump = 200  # fields resolved before the clock is made to pass the budget

    def clock() -> float:
        calls["n"] += 1
        if calls["n"] > jump:
            calls["after_cut"] += 1
            return real() + 3600
        return real()

    query = """{ customers(first: 50) { edges { node { id
      orders(first: 10) { edges { node { id number status lines { sku quantity } } } } } } } }"""
    async with gateway(budget_ms=5000) as client:
        whole = await client.post("/graphql", json={"query": query})
        assert whole.status_code == 200 and "errors" not in whole.json(), whole.text
        monkeypatch.setattr(authorization, "now", clock)
        response = await client.post("/graphql", json={"query": query},
                                     headers={"X-Request-ID": "req-cpu"})
    assert response.status_code == 504
    assert response.json()["errors"][0]["extensions"] == {
        "code": "BUDGET_EXCEEDED", "requestId": "req-cpu"}
    assert calls["after_cut"] == 1, "after the budget passed, no field asked the clock again"


async def test_an_overloaded_worker_refuses_before_authenticating(
        gateway: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Refusing the excess costs no signature check, no parsing: a request without any
    credential gets the 503 too; health checks and the GraphiQL page are not refused."""
    monkeypatch.setattr(Admission, "shed", lambda self: Refusal(3, "wait"))
    async with gateway(headers={}) as client:
        refused = await client.post("/graphql", json={"query": "{ __typename }"},
                                    headers={"Accept": GRAPHQL_RESPONSE})
        health = await client.get("/healthz")
        page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert refused.status_code == 503 and refused.headers["retry-after"] == "3"
    assert refused.headers["content-type"] == GRAPHQL_RESPONSE
    assert refused.json()["errors"][0]["extensions"] == {"code": "OVERLOADED"}
    assert "x-request-id" in refused.headers
    assert health.status_code == page.status_code == 200


async def test_silo_waits_of_a_request_starting_now_overlap_the_cpu_of_those_running() -> None:
    """A request that spends a second on a slow silo and little CPU, arriving while 0.6 s of
    CPU runs ahead of it, starts at once: its silo wait overlaps that CPU, so it finishes
    after max(0.6, 1.0) s and its own CPU — within a 2 s budget. Queued, it would wait for
    that CPU first and does not fit."""
    meter = Meter()
    gate = admission(meter, window_s=0.7)
    teach(gate, meter, "heavy", 0.3)
    slow = enter(gate, meter, "slow")
    meter.work(0.02, wall_s=1.02)  # a second on its silo
    gate.finish(slow)
    assert gate.predict("slow", 100).io_s == pytest.approx(1.0, abs=0.01)
    ahead = [enter(gate, meter, "heavy") for _ in range(2)]
    assert all(t.running for t in ahead)
    assert isinstance(gate.arrive("slow", 100, meter.t, 2.0), Ticket)
    queued = admission(meter, window_s=0.5)
    teach(queued, meter, "heavy", 0.3)
    slow = enter(queued, meter, "slow")
    meter.work(0.02, wall_s=1.02)
    queued.finish(slow)
    ahead = [enter(queued, meter, "heavy") for _ in range(3)]  # the third queues: so would it
    assert [t.running for t in ahead] == [True, True, False]
    assert isinstance(queued.arrive("slow", 100, meter.t, 2.0), Refusal)
