"""Threads with an unstored vendor answer go before threads that settle or prepare images
(kyc/services/answers_first.py): what a waiter waits for, and what it does not."""

from __future__ import annotations

import threading

import pytest

from kyc.services.answers_first import AnswerQueue

#: Long enough for a thread that is not blocked to get somewhere; no assertion is about time.
A_MOMENT = 0.2


class Storing(threading.Thread):
    """A thread storing an answer until it is told to finish."""

    def __init__(self, queue: AnswerQueue) -> None:
        super().__init__(daemon=True)
        self.queue = queue
        self.inside = threading.Event()
        self.finish = threading.Event()

    def run(self) -> None:
        with self.queue.storing():
            self.inside.set()
            self.finish.wait(30)

    def begin(self) -> Storing:
        self.start()
        assert self.inside.wait(5)
        return self

    def end(self) -> None:
        self.finish.set()
        self.join(5)


class Waiting(threading.Thread):
    def __init__(self, queue: AnswerQueue, timeout: float = 30) -> None:
        super().__init__(daemon=True)
        self.queue = queue
        self.timeout = timeout

    def begin(self) -> Waiting:
        self.start()
        return self

    def run(self) -> None:
        self.queue.let_answers_go_first(self.timeout)


def test_with_no_answer_being_stored_nobody_waits():
    waiter = Waiting(AnswerQueue()).begin()
    waiter.join(5)
    assert not waiter.is_alive()


def test_a_waiter_waits_until_an_earlier_answer_is_stored():
    queue = AnswerQueue()
    answer = Storing(queue).begin()
    waiter = Waiting(queue).begin()
    waiter.join(A_MOMENT)
    assert waiter.is_alive()

    answer.end()
    waiter.join(5)
    assert not waiter.is_alive()


def test_a_waiter_does_not_wait_for_answers_that_arrived_after_it_began():
    queue = AnswerQueue()
    earlier = Storing(queue).begin()
    waiter = Waiting(queue).begin()
    waiter.join(A_MOMENT)
    later = Storing(queue).begin()

    earlier.end()
    waiter.join(5)
    assert not waiter.is_alive()
    assert later.is_alive()  # still storing: a steady stream of answers starves no one
    later.end()


def test_waiting_is_bounded():
    queue = AnswerQueue()
    answer = Storing(queue).begin()
    waiter = Waiting(queue, timeout=0.01).begin()
    waiter.join(5)
    assert not waiter.is_alive()
    assert answer.is_alive()
    answer.end()


def test_an_answer_whose_store_fails_no_longer_holds_anyone_up():
    queue = AnswerQueue()
    with pytest.raises(ConnectionError), queue.storing():
        raise ConnectionError
    waiter = Waiting(queue).begin()
    waiter.join(5)
    assert not waiter.is_alive()


def test_each_waiter_is_released_when_the_answers_before_it_are_stored():
    queue = AnswerQueue()
    first = Storing(queue).begin()
    waits_for_first = Waiting(queue).begin()
    waits_for_first.join(A_MOMENT)
    second = Storing(queue).begin()
    waits_for_both = Waiting(queue).begin()

    first.end()
    waits_for_first.join(5)
    waits_for_both.join(A_MOMENT)
    assert not waits_for_first.is_alive()
    assert waits_for_both.is_alive()

    second.end()
    waits_for_both.join(5)
    assert not waits_for_both.is_alive()
