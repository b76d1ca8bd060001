"""Within one worker process, a thread holding a vendor's unstored answer goes first.

A worker's threads start their vendor calls together and the answers come back together. Until
an answer is committed, a killed worker costs a second, billed call (issue 19: crash cost); yet
while it waits for the CPU, other threads settle earlier answers and prepare new images, which
is most of a task's CPU and can wait without costing anything. So the threads about to do that
work first let every answer that arrived before them be stored: the answers of a wave are
committed one after another instead of each behind the whole wave's settling.

Waiting is bounded (`MAX_WAIT_SECONDS`), and a waiter only waits for answers that arrived before
it began to wait, so a steady stream of answers cannot starve the settling.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

#: The longest a thread lets others' answers go first; past it, the work is merely slower.
MAX_WAIT_SECONDS = 0.25


class AnswerQueue:
    """Tickets for answers being stored, in the order they arrived, and the threads waiting for
    them. Each waiter is woken once, when the answers it waits for are stored: with a hundred
    threads, waking them all at every stored answer costs more CPU than the waiting saves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_ticket = 0
        self._storing: dict[int, None] = {}  # an ordered set: its first key is the oldest
        self._waiters: deque[tuple[int, threading.Event]] = deque()  # (horizon, event)

    @contextmanager
    def storing(self) -> Iterator[None]:
        """Around storing one answer: the threads that `let_answers_go_first` wait for it."""
        with self._lock:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._storing[ticket] = None
        try:
            yield
        finally:
            with self._lock:
                del self._storing[ticket]
                oldest = next(iter(self._storing), self._next_ticket)
                # Horizons only grow along the deque, so the waiters to wake are at its front.
                while self._waiters and self._waiters[0][0] <= oldest:
                    self._waiters.popleft()[1].set()

    def let_answers_go_first(self, timeout: float = MAX_WAIT_SECONDS) -> None:
        """Wait until every answer that arrived before now is stored, or `timeout` passes."""
        with self._lock:
            if not self._storing:
                return
            stored = threading.Event()
            self._waiters.append((self._next_ticket, stored))
        stored.wait(timeout)  # a waiter that timed out is dropped when its answers are stored


#: The worker process's queue; its threads share it.
answers = AnswerQueue()
