"""How this project starts and stops its processes (the demo, the tests, the benchmarks): Celery
workers, and the web server with its one configuration (kyc/gunicorn_conf.py).

A thread pool, as deployed (README): vendor calls wait on the network, so one process keeps
many in flight. No Django imports here: the benchmarks call this before configuring Django.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from kyc.queues import ALL


def web_command(bind: str, *, workers: int = 2, threads: int = 4) -> list[str]:
    """gunicorn as the README's production command runs it, on `bind` (host:port)."""
    return [
        str(Path(sys.executable).parent / "gunicorn"),
        "--config",
        "python:kyc.gunicorn_conf",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]


def worker_command(
    concurrency: int, *options: str, loglevel: str = "WARNING", consume: tuple[str, ...] = ALL
) -> list[str]:
    """A worker of the `consume` queues: all of them by default, as the demo, the tests and the
    benchmarks run one worker; a deployment may give the faces queue workers of its own (README)."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "kyc",
        "worker",
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "--loglevel",
        loglevel,
        "--queues",
        ",".join(consume),
        *options,
    ]


def beat_command(schedule_file: Path, loglevel: str = "WARNING") -> list[str]:
    """Celery beat, keeping its schedule's state in `schedule_file` (exactly one runs)."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "kyc",
        "beat",
        "--loglevel",
        loglevel,
        "--schedule",
        str(schedule_file),
    ]


#: For tests and benchmarks, which start one worker next to another on a quiet broker.
QUIET = ("--without-gossip", "--without-mingle")


def stop_worker(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """A warm shutdown (running tasks finish), killed if it takes longer than `timeout`."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
