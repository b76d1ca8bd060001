"""A worker's threads run the pipeline's Python on a few turns, and threads with a vendor's answer
get the next turn first (kyc/services/cpu_turns.py): who runs, who waits, and in what order."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from kyc.models import PairStatus
from kyc.services import attempt_outcomes, cpu_turns, pipeline
from kyc.services.cpu_turns import CpuTurns

#: Long enough for a thread that is not blocked to get somewhere; no assertion is about time.
A_MOMENT = 0.2


@pytest.fixture(autouse=True)
def patient_waits(monkeypatch):
    """Waits for a turn outlast every test's moments, unless a test shortens them."""
    monkeypatch.setattr(cpu_turns, "MAX_WAIT_SECONDS", 30.0)


class Worker(threading.Thread):
    """A thread that runs `body` on a turn of `turns` and records when it got there."""

    def __init__(self, turns: CpuTurns, body: Callable[[Worker], None], log: list[str]) -> None:
        super().__init__(daemon=True)
        self.turns, self.body, self.log = turns, body, log
        self.finish = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            self.body(self)
        except BaseException as failure:  # reported by end()
            self.failure = failure

    def begin(self) -> Worker:
        self.start()
        return self

    def end(self) -> None:
        self.finish.set()
        self.join(5)
        assert not self.is_alive()
        assert self.failure is None


def holding_a_turn(name: str) -> Callable[[Worker], None]:
    def body(worker: Worker) -> None:
        with worker.turns.turn():
            worker.log.append(name)
            assert worker.turns.holding()
            worker.finish.wait(30)
        assert not worker.turns.holding()

    return body


def back_from_the_vendor(name: str, answered: threading.Event) -> Callable[[Worker], None]:
    """A turn given up while the vendor answers, taken again with the answer."""

    def body(worker: Worker) -> None:
        with worker.turns.turn():
            with worker.turns.off_turn(back_with_answer=True):
                answered.wait(30)
            worker.log.append(name)
            worker.finish.wait(30)

    return body


def started(worker: Worker, log: list[str], name: str) -> bool:
    worker.join(A_MOMENT)
    return name in log


def test_threads_beyond_the_turns_wait_until_a_turn_is_given_up():
    turns, log = CpuTurns(2), []
    first, second = (Worker(turns, holding_a_turn(n), log).begin() for n in ("first", "second"))
    third = Worker(turns, holding_a_turn("third"), log).begin()
    assert started(first, log, "first") and started(second, log, "second")
    assert not started(third, log, "third")

    first.end()
    assert started(third, log, "third")
    second.end()
    third.end()


def test_an_answer_takes_a_turn_at_once_and_the_queue_waits_until_it_is_stored():
    turns, log = CpuTurns(1), []
    answered = threading.Event()
    answering = Worker(turns, back_from_the_vendor("answer stored", answered), log).begin()
    answering.join(A_MOMENT)  # it gave its turn up for the vendor call
    holder = Worker(turns, holding_a_turn("holder"), log).begin()
    assert started(holder, log, "holder")
    queued = Worker(turns, holding_a_turn("queued"), log).begin()
    queued.join(A_MOMENT)

    answered.set()
    assert started(answering, log, "answer stored")  # beside the holder of the one turn
    holder.end()
    assert not started(queued, log, "queued")  # the answer still holds more than the count
    answering.end()
    assert started(queued, log, "queued")
    queued.end()
    assert log == ["holder", "answer stored", "queued"]


def test_letting_answers_go_first_gives_the_turn_up_until_they_are_stored():
    turns, log = CpuTurns(1), []
    answered, settle = threading.Event(), threading.Event()

    def settling(worker: Worker) -> None:
        with worker.turns.turn():
            worker.log.append("settler")
            settle.wait(30)
            worker.turns.let_answers_go_first()
            worker.log.append("settled")

    answering = Worker(turns, back_from_the_vendor("answer stored", answered), log).begin()
    answering.join(A_MOMENT)  # it gave its turn up for the vendor call
    settler = Worker(turns, settling, log).begin()
    assert started(settler, log, "settler")
    answered.set()
    assert started(answering, log, "answer stored")
    settle.set()
    assert not started(settler, log, "settled")

    answering.end()
    settler.end()
    assert log == ["settler", "answer stored", "settled"]


def test_a_thread_that_stored_its_answer_queues_for_its_settling_like_any_other():
    turns, log = CpuTurns(1), []
    answered = threading.Event()

    def answering(worker: Worker) -> None:
        with worker.turns.turn():
            with worker.turns.off_turn(back_with_answer=True):
                answered.wait(30)
            worker.log.append("answer stored")
            worker.turns.let_answers_go_first()
            worker.log.append("settled")

    answerer = Worker(turns, answering, log).begin()
    answerer.join(A_MOMENT)
    holder = Worker(turns, holding_a_turn("holder"), log).begin()
    assert started(holder, log, "holder")
    answered.set()
    assert started(answerer, log, "answer stored")
    assert not started(answerer, log, "settled")

    holder.end()
    answerer.end()
    assert log == ["holder", "answer stored", "settled"]


def test_with_no_answer_waiting_letting_answers_go_first_keeps_the_turn():
    turns, log = CpuTurns(1), []

    def settling(worker: Worker) -> None:
        with worker.turns.turn():
            worker.turns.let_answers_go_first()
            worker.log.append("settled")
            assert worker.turns.holding()

    settler = Worker(turns, settling, log).begin()
    settler.end()
    assert log == ["settled"]


def test_a_nested_turn_keeps_the_turn_it_holds():
    turns = CpuTurns(1)
    with turns.turn():
        with turns.turn():
            assert turns.holding()
        assert turns.holding()
    assert not turns.holding()


def test_off_turn_without_a_turn_takes_none():
    """A webhooks-queue worker's thread holds no turn: its POST neither gives nor takes one."""
    turns = CpuTurns(1)
    with turns.off_turn():
        assert not turns.holding()
    assert not turns.holding()
    with turns.turn():  # and the one turn is still free
        assert turns.holding()


def test_a_turn_given_up_is_taken_again_when_the_wait_raises():
    turns = CpuTurns(1)
    with turns.turn():
        with pytest.raises(TimeoutError), turns.off_turn(back_with_answer=True):
            raise TimeoutError
        assert turns.holding()
    assert not turns.holding()


def test_a_thread_that_waits_too_long_runs_without_a_turn_and_takes_none_from_the_count(
    monkeypatch,
):
    monkeypatch.setattr(cpu_turns, "MAX_WAIT_SECONDS", 0.05)
    turns, log = CpuTurns(1), []
    holder = Worker(turns, holding_a_turn("holder"), log).begin()
    assert started(holder, log, "holder")

    def impatient(worker: Worker) -> None:
        with worker.turns.turn():
            worker.log.append("ran anyway")
            assert not worker.turns.holding()

    Worker(turns, impatient, log).begin().end()
    holder.end()
    # The turn the holder gave back is free again: nobody is left waiting for it.
    late = Worker(turns, holding_a_turn("late"), log).begin()
    assert started(late, log, "late")
    late.end()
    assert log == ["holder", "ran anyway", "late"]


def test_no_turns_means_no_gate():
    turns = CpuTurns(0)
    with turns.turn(), turns.turn():
        pass
    entered = threading.Barrier(3, timeout=5)
    threads = [threading.Thread(target=lambda: _through(turns, entered)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
        assert not thread.is_alive()


def _through(turns: CpuTurns, entered: threading.Barrier) -> None:
    with turns.turn():
        entered.wait()  # all three are inside at once


def test_the_process_has_two_turns_unless_configured(monkeypatch):
    monkeypatch.delenv("WORKER_CPU_TURNS", raising=False)
    assert cpu_turns.turns_per_process() == 2
    monkeypatch.setenv("WORKER_CPU_TURNS", "0")
    assert cpu_turns.turns_per_process() == 0


def test_an_attempt_holds_its_turn_but_for_the_vendor_call(harness, monkeypatch):
    turns = CpuTurns(2)
    monkeypatch.setattr(pipeline, "turns", turns)
    seen: list[tuple[str, bool]] = []

    def recorded(step: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            seen.append((step, turns.holding()))
            return function(*args, **kwargs)

        return run

    def get_adapter(*args: Any, **kwargs: Any) -> Any:
        adapter = pipeline_get_adapter(*args, **kwargs)
        return SimpleNamespace(compare=recorded("vendor called", adapter.compare))

    pipeline_get_adapter = pipeline.get_adapter
    monkeypatch.setattr(pipeline, "get_adapter", get_adapter)
    monkeypatch.setattr(pipeline, "_read_images", recorded("images read", pipeline._read_images))
    monkeypatch.setattr(
        attempt_outcomes, "store_answer", recorded("answer stored", attempt_outcomes.store_answer)
    )
    monkeypatch.setattr(
        pipeline, "_settle_answer", recorded("answer settled", pipeline._settle_answer)
    )
    harness.enable("advance")
    harness.sandboxes["advance"].script({"score": 97, "risk_tags": []})

    assert harness.run(harness.submit()).status == PairStatus.APPROVED
    assert seen == [
        ("images read", True),
        ("vendor called", False),
        ("answer stored", True),
        ("answer settled", True),
    ]
    assert not turns.holding()
    # Every turn was given back: two threads hold one each at once.
    both_inside = threading.Barrier(2, timeout=5)
    threads = [threading.Thread(target=_through, args=(turns, both_inside)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
        assert not thread.is_alive()
