"""The concurrency limit's rules, on a clock the test moves: no sleeping, no store."""

from __future__ import annotations

import threading

import pytest

from wsync.errors import UsageError
from wsync.store.limiter import (
    AdaptiveLimit,
    Attempt,
    FixedLimit,
    items_in,
    make_limit,
)
from wsync.sync.options import ImportOptions, parse_concurrency


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def write(elapsed: float, items: int = 50, status: int | None = 200, failure: str | None = None) -> Attempt:
    return Attempt("POST", "products/batch", status, failure, elapsed, items)


def run_level(limit: FixedLimit, clock: Clock, per_request_s: float, items: int = 50, most: int = 200) -> int:
    """Answers at the limit's current level, as a steady store gives them: `current` requests in
    flight, each taking `per_request_s`, so one answer every `per_request_s / current` seconds;
    until the limit moves (or `most` answers). Returns the new level."""
    n = limit.allowed()
    for _ in range(most):
        clock.now += per_request_s / n
        limit.observe(write(per_request_s, items))
        if limit.allowed() != n:
            break
    return limit.allowed()


def store(workers: int, base_s: float):
    """A store with `workers` workers: a request takes `base_s` while in-flight <= workers, and
    queues (takes longer, the same throughput) beyond."""
    def per_request(in_flight: int) -> float:
        return base_s * max(1.0, in_flight / workers)
    return per_request


def test_rises_while_throughput_grows_and_respects_the_ceiling() -> None:
    clock = Clock()
    limit = AdaptiveLimit(ceiling=5, clock=clock)
    assert limit.allowed() == 4
    seen = [limit.allowed()]
    latency = store(workers=100, base_s=0.5)  # never saturated: more in flight, more done
    for _ in range(6):
        seen.append(run_level(limit, clock, latency(limit.allowed())))
    assert seen[:2] == [4, 5]  # a ceiling of 5: half of it leaves no room to double
    assert max(seen) == 5 and limit.allowed() == 5
    assert limit.snapshot()["peak"] == 5 and limit.backoffs == 0


def test_settles_a_few_requests_past_what_the_store_serves() -> None:
    clock = Clock()
    limit = AdaptiveLimit(ceiling=16, clock=clock)
    latency = store(workers=3, base_s=0.4)
    levels = []
    for _ in range(20):
        levels.append(run_level(limit, clock, latency(limit.allowed()), most=20))
    # From 4 (a new kind of request: one step) to 5, where answers take longer than the best (from
    # 4, itself one waiting): no more doubling. Then one at a time while fewer than two look
    # waiting, and held at 6: three served, three waiting (two against the best seen at 4), so a
    # worker never waits for the next request.
    assert levels[:2] == [5, 6] and set(levels[1:]) == {6}, levels
    assert limit.backoffs == 0


def test_slow_start_doubles_up_to_half_the_ceiling_then_one_at_a_time() -> None:
    clock = Clock()
    limit = AdaptiveLimit(ceiling=16, clock=clock)
    latency = store(workers=100, base_s=0.5)
    seen = [limit.allowed()] + [run_level(limit, clock, latency(limit.allowed())) for _ in range(5)]
    # The first window's answers are the first of their kind (their best time is from this very
    # level, so they cannot show queueing): one step. Then doubling, to half the ceiling.
    assert seen == [4, 5, 8, 9, 10, 11]


def test_slow_start_stops_where_a_store_of_8_workers_is_full() -> None:
    clock = Clock()
    limit = AdaptiveLimit(ceiling=16, clock=clock)
    latency = store(workers=8, base_s=0.4)
    levels = [run_level(limit, clock, latency(limit.allowed()), most=20) for _ in range(20)]
    # Doubling to half the ceiling (8, no queue yet), then one at a time to two waiting.
    assert levels[:2] == [5, 8] and levels[-1] == 10 and set(levels[1:]) == {8, 9, 10}, levels
    assert limit.backoffs == 0


def test_an_overload_ends_the_slow_start() -> None:
    clock = Clock()
    limit = AdaptiveLimit(ceiling=16, clock=clock)
    assert run_level(limit, clock, 0.5) == 5
    clock.now += 1
    limit.observe(write(0.5, status=503))
    assert limit.allowed() == 2
    levels = [run_level(limit, clock, 0.5 * max(1.0, limit.allowed() / 100)) for _ in range(3)]
    assert levels == [3, 4, 5], "after an overload it rises one at a time"


@pytest.mark.parametrize("attempt", [
    write(0.3, status=503), write(0.3, status=429), write(0.3, status=504),
    write(30.0, status=None, failure="timeout"), write(0.01, status=None, failure="dropped"),
    write(0.01, status=None, failure="refused"),
], ids=["503", "429", "504", "timeout", "dropped", "refused"])
def test_halves_on_overload(attempt: Attempt) -> None:
    clock = Clock()
    limit = AdaptiveLimit(ceiling=16, start=8, clock=clock)
    clock.now += 60  # sent after the limit was set
    limit.observe(attempt)
    assert limit.allowed() == 4 and limit.backoffs == 1
    snap = limit.snapshot()
    assert snap["current"] == 4 and snap["backoffs"] == 1


def test_one_burst_halves_once_and_the_floor_is_one() -> None:
    clock = Clock()
    limit = AdaptiveLimit(ceiling=16, start=8, clock=clock)
    clock.now += 5
    for _ in range(6):  # six 503s of requests sent before the first was answered
        limit.observe(write(1.0, status=503))
    assert limit.allowed() == 4 and limit.backoffs == 1 and limit.overloaded == 6
    for _ in range(5):
        clock.now += 5
        limit.observe(write(0.1, status=503))
    assert limit.allowed() == 1
    clock.now += 5
    limit.observe(write(0.1, status=429))
    assert limit.allowed() == 1  # never below one


def test_too_many_waiting_goes_back_to_what_the_store_serves_and_an_overload_halves() -> None:
    clock = Clock()
    limit = AdaptiveLimit(ceiling=16, start=8, clock=clock)
    level = run_level(limit, clock, 0.5)   # best: 10 ms an item; one step up
    assert level == 9
    run_level(limit, clock, 2.0)           # four times as long per item, with no error answered
    # Little's law: 9 in flight at 4x the time is 2.25 served at once, 6.75 waiting (more than 4):
    # back to the 2.25 served plus two waiting.
    assert limit.allowed() == 5 and limit.backoffs == 1
    run_level(limit, clock, 2.0 * 5 / 9)   # the same store at 5: 2.25 served, 2.75 waiting: held
    assert limit.allowed() == 5 and limit.backoffs == 1
    clock.now += 5
    limit.observe(write(0.1, status=503))  # an overload answer halves
    assert limit.allowed() == 2 and limit.backoffs == 2


def test_a_store_short_of_cpu_is_kept_busy() -> None:
    """Two cores: past two requests in flight each answer takes longer, yet each one more still
    gets a little more done (waits on the database overlap), as on the real store: its cores 80 %
    busy at 2 in flight, 89 % at 3, 94 % at 4, 96 % at 5. The best time per item came from a lone
    first request, so at 4 in flight answers take 2.2x the best: about two waiting, held there.
    Halving on that latency went back to 2 and climbed again every time."""
    measured = {1: 0.51, 2: 0.80, 3: 0.89, 4: 0.94, 5: 0.96, 6: 0.97, 7: 0.975, 8: 0.98}

    def busy(k: int) -> float:
        return measured[k]

    def per_request(k: int) -> float:
        return k / (2 * busy(k))          # one request's second of work, shared by k on two cores

    clock = Clock()
    limit = AdaptiveLimit(ceiling=8, clock=clock)
    clock.now += per_request(1)
    limit.observe(write(per_request(1)))  # the lone first request: the best time per item
    spent = done = 0.0
    levels = []
    for _ in range(40):
        k = limit.allowed()
        started = clock.now
        answers = 0
        while limit.allowed() == k and answers < 20:
            clock.now += per_request(k) / k
            limit.observe(write(per_request(k)))
            answers += 1
        spent += clock.now - started
        done += busy(k) * (clock.now - started)
        levels.append(k)
    assert min(levels[3:]) >= 4, levels
    assert done / spent > 0.92, (done / spent, levels)


def test_a_fixed_limit_never_moves_but_measures() -> None:
    clock = Clock()
    limit = make_limit(3, clock=clock)
    assert isinstance(limit, FixedLimit) and not isinstance(limit, AdaptiveLimit)
    for _ in range(10):
        clock.now += 0.5
        limit.observe(write(1.0, items=25))
    limit.observe(write(1.0, status=503))
    assert limit.allowed() == 3 and limit.ceiling == 3
    snap = limit.snapshot()
    assert snap["mode"] == "fixed" and snap["overloaded"] == 1 and snap["backoffs"] == 0
    assert snap["rate"] == pytest.approx(250 / 5.5, rel=0.01)  # 250 items from the first send to now


def test_reads_and_refused_items_do_not_count_as_items_done() -> None:
    clock = Clock()
    limit = make_limit("auto", 8, clock=clock)
    clock.now += 1
    limit.observe(Attempt("GET", "products", 200, None, 0.1, 0))
    limit.observe(write(0.2, status=400))
    assert limit.items == 0 and limit.allowed() == 4
    assert items_in("GET", None) == 0 and items_in("DELETE", None) == 1
    assert items_in("POST", {"create": [{}, {}], "update": [{}], "delete": [5]}) == 4


def test_thread_safe() -> None:
    clock = Clock()
    limit = AdaptiveLimit(ceiling=8, start=4, clock=clock)

    def hammer() -> None:
        for _ in range(2000):
            clock.now += 0.01  # time moves, so the limit decides as it goes
            limit.observe(write(0.2))
            limit.allowed()
            limit.snapshot()

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert limit.items == 4 * 2000 * 50
    # Every answer took the same time per item and none was an overload: nothing to back off
    # from, whatever order the threads' answers were counted in.
    snap = limit.snapshot()
    assert limit.backoffs == 0 and snap["overloaded"] == 0
    assert 4 <= limit.allowed() <= snap["peak"] <= 8


def test_options_take_auto_or_a_pinned_number() -> None:
    assert ImportOptions().validate().concurrency == "auto"
    assert ImportOptions.from_dict({"concurrency": 4}).validate().concurrency == 4  # a job stored before auto
    assert parse_concurrency("AUTO") == "auto" and parse_concurrency("7") == 7
    opts = ImportOptions(concurrency="auto", concurrency_max=5).validate()
    assert isinstance(opts.limit(), AdaptiveLimit) and opts.limit().ceiling == 5 and opts.pool_size() == 5
    pinned = ImportOptions(concurrency="3").validate()
    assert pinned.concurrency == 3 and pinned.pool_size() == 3 and pinned.limit().allowed() == 3
    for bad in (0, 17, "fast", True):
        with pytest.raises(UsageError):
            ImportOptions(concurrency=bad).validate()
    with pytest.raises(UsageError):
        ImportOptions(concurrency_max=17).validate()


def test_batches_of_another_kind_compare_by_their_own_best_time() -> None:
    """The last product batches (50 items, 0.25 s each) answered among the first variation batches
    (3 items, 0.2 s), on a store with room: the variation batches write far fewer items a second,
    yet more of them in flight still does more work, so the limit goes on rising."""
    clock = Clock()
    limit = AdaptiveLimit(ceiling=8, clock=clock)
    run_level(limit, clock, 0.25, items=50)          # products only: 2 -> 3
    n = limit.allowed()
    for elapsed, items in [(0.25, 50), (0.25, 50)] + [(0.2, 3)] * 4:   # a mixed window
        clock.now += elapsed / n
        limit.observe(write(elapsed, items))
    levels = [run_level(limit, clock, 0.2, items=3) for _ in range(8)]
    assert levels[-1] == 8 and limit.backoffs == 0, levels


def test_latency_alone_never_goes_below_three_but_an_overload_does() -> None:
    clock = Clock()
    limit = AdaptiveLimit(ceiling=16, start=8, clock=clock)
    run_level(limit, clock, 0.5)            # best: 10 ms an item
    for _ in range(3):                      # answers ever slower, no error: a busy store or machine
        run_level(limit, clock, 20.0, most=40)
    assert limit.allowed() == 3             # under a request served at once, plus two waiting
    clock.now += 30
    limit.observe(write(0.1, status=503))   # the store says it is full: that may go lower
    assert limit.allowed() == 1


def test_lone_writes_neither_move_the_limit_nor_end_its_slow_start() -> None:
    """Categories made ahead of a window's products, a few at once: single writes of one item,
    fast, then slower as the store's caches fill. They are not sent as the limit allows, so they
    must not step it, nor end the slow start with a step that "did not pay" (on the real store
    they did, and the product batches after them climbed one at a time)."""
    clock = Clock()
    limit = AdaptiveLimit(ceiling=16, clock=clock)
    clock.now += 1
    for elapsed in [0.16] * 5 + [0.6] * 12:
        clock.now += elapsed / limit.allowed()
        limit.observe(Attempt("POST", "products/categories", 201, None, elapsed, 1))
    assert limit.allowed() == 4 and limit.items == 17
    levels = [run_level(limit, clock, 0.5) for _ in range(4)]   # product batches, a store with room
    assert levels == [5, 8, 9, 10], levels  # one step for a new kind of request, then doubling to half the ceiling


def test_after_an_overload_it_stays_under_the_level_refused_for_a_while() -> None:
    """One worker and no queue: a second request at a time is refused. After the 503 the limit
    must not climb straight back to where the store refused, window after window."""
    clock = Clock()
    limit = AdaptiveLimit(ceiling=8, start=4, clock=clock)
    clock.now += 5
    limit.observe(write(0.1, status=503))
    assert limit.allowed() == 2
    clock.now += 1                           # what was in flight at 4 has been answered
    levels = []
    for _ in range(40):                      # answers at the best time: nothing waiting
        clock.now += 0.5 / limit.allowed()
        limit.observe(write(0.5))
        levels.append(limit.allowed())
    # Up to one below 4 after a window at 2 (three answers); held there for six windows of four
    # answers (after three sent at 2, which do not count); then 4 is tried again.
    assert levels[:2] == [2, 2] and levels[2:29] == [3] * 27 and levels[29] == 4, levels


def test_a_kind_first_answered_at_a_queued_level_does_not_look_unqueued() -> None:
    """Two workers: product batches take the limit to four (two served, two waiting).
    Then variation batches start, a kind never seen: timed with that queue, their first answers
    would look like the store's best time and the limit would climb on into its 503s (the
    sandbox with a queue of four answered six of them). Their best is taken over the queue seen."""
    clock = Clock()
    limit = AdaptiveLimit(ceiling=16, start=2, clock=clock)   # its first answers unqueued
    latency = store(workers=2, base_s=0.4)
    for _ in range(10):
        run_level(limit, clock, latency(limit.allowed()), most=20)
    settled = limit.allowed()
    assert settled == 4, settled
    for _ in range(60):                     # variation batches only, the same store
        k = limit.allowed()
        clock.now += latency(k) / k
        limit.observe(Attempt("POST", "products/7/variations/batch", 200, None, latency(k) * 0.6, 25))
        assert limit.allowed() <= 5, "climbed on where two workers already have a queue"
