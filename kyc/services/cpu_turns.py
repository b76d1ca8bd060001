"""Within one worker process, a few of the pipeline's threads run its Python at a time, and a
thread with a vendor's unstored answer never waits for them.

A worker keeps 150 or more comparisons in flight, one thread each, and they all want the CPU in
the same moments: the vendor's answers come back together. With every thread contending for
the GIL, CPython hands it from one to the next every few milliseconds and at every socket read:
240–325 context switches per pair on bench/pipeline.py. So a thread does its Python work
holding one of a few *turns*, and gives its turn up while it waits for the network: for the
vendor's answer, for a webhook receiver. Threads waiting for a turn sleep on an event of their
own and are woken one at a time, when a turn is handed to them.

Until an answer is committed, a killed worker costs a second, billed call (issue 19: crash
cost); settling earlier answers and preparing new images is most of the CPU and can wait
without costing anything. So a thread coming back with an answer takes a turn at once, beyond
the count if need be, and nobody else gets one until the count allows again; once its answer is
stored, it queues for its settling like any other thread (`let_answers_go_first`), and so does
a thread about to prepare images while answers are being stored.

A wait for a turn is bounded (`MAX_WAIT_SECONDS`): past it, the thread runs without one, as
every thread did before, rather than stall behind a turn held through a long wait. A thread
never waits for a turn while it holds a pooled database connection (kyc.db_pool), or the
threads holding the turns could wait for that connection.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

#: The longest a thread waits for a turn; past it, it runs without one.
MAX_WAIT_SECONDS = 1.0


def turns_per_process() -> int:
    """Two, whatever the cores: only one thread of a process runs Python at a time (the GIL),
    and the second turn fills the first's waits for the database. WORKER_CPU_TURNS overrides;
    0 turns the gate off. On bench/pipeline.py (150 threads, two cores), a first version with
    four turns left 139–173 context switches per pair, with two 111–123."""
    return int(os.environ.get("WORKER_CPU_TURNS", "2"))


class CpuTurns:
    def __init__(self, turns: int) -> None:
        self._lock = threading.Lock()
        self._open = turns <= 0  # no turns: nobody waits
        self._free = turns  # below zero while answers take more turns than there are
        self._answering = 0  # turns held by threads with an answer to store
        self._waiting: deque[threading.Event] = deque()
        self._local = threading.local()

    def holding(self) -> bool:
        """Whether the calling thread holds a turn."""
        return getattr(self._local, "holding", False)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """The calling thread's turn for the block (a nested block keeps the turn it holds)."""
        if self.holding():
            yield
            return
        self._take()
        try:
            yield
        finally:
            if self.holding():
                self._give()

    @contextmanager
    def off_turn(self, *, back_with_answer: bool = False) -> Iterator[None]:
        """Around a wait for the network: the turn goes to another thread meanwhile. It is taken
        again after the wait, at once if the thread comes `back_with_answer`: an answer to store
        never waits for a turn, and the threads waiting for one wait until it is stored."""
        if not self.holding():
            yield
            return
        self._give()
        try:
            yield
        finally:
            if back_with_answer:
                self._take_for_answer()
            else:
                self._take()

    def let_answers_go_first(self) -> None:
        """Before work that can wait (settling, preparing images): while answers are being
        stored, give the turn up and queue for one again. A thread that has just stored its own
        answer queues like any other."""
        if self.holding() and (self._answering or self._local.answer):  # a hint, unlocked
            self._give()
            self._take()

    def _take_for_answer(self) -> None:
        if self._open:
            return
        with self._lock:
            self._free -= 1
            self._answering += 1
        self._local.holding = self._local.answer = True

    def _take(self) -> None:
        if self._open:
            return
        with self._lock:
            if self._free > 0 and not self._waiting:
                self._free -= 1
                self._local.holding, self._local.answer = True, False
                return
            handed = threading.Event()
            self._waiting.append(handed)
        if not handed.wait(MAX_WAIT_SECONDS):
            with self._lock:
                if not handed.is_set():  # still queued: run without a turn
                    self._waiting.remove(handed)
                    return
        self._local.holding, self._local.answer = True, False

    def _give(self) -> None:
        with self._lock:
            self._answering -= self._local.answer
            self._free += 1
            if self._free > 0 and self._waiting:
                self._free -= 1  # handed over
                self._waiting.popleft().set()
        self._local.holding = self._local.answer = False


#: The worker process's turns; its threads share them.
turns = CpuTurns(turns_per_process())
