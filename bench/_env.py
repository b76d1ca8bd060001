"""A production-like environment for the benchmarks: PostgreSQL, Redis, gunicorn, real settings."""

from __future__ import annotations

import cProfile
import os
import pstats
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import psycopg
import redis

from kyc.crypto import generate_master_key_entry

ROOT = Path(__file__).resolve().parents[1]
FACES = Path(os.environ.get("KYC_FACES_DIR", ROOT.parent / "shared" / "faces"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
#: Several people (or sessions) may bench on one machine: each names its own database and Redis
#: database pair (the broker on BENCH_REDIS_DB, the cache on the one below it).
DB_NAME = os.environ.get("BENCH_DB", "kyc_bench")
BROKER_DB = int(os.environ.get("BENCH_REDIS_DB", "13"))


def environment(var_dir: Path, broker_db: int = BROKER_DB) -> dict[str, str]:
    var_dir.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
        "DJANGO_ENV": "production",
        "SECRET_KEY": "bench-" + os.urandom(24).hex(),
        "KYC_ENCRYPTION_KEYS": generate_master_key_entry("bench"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",  # TLS ends at the load balancer in front of gunicorn
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{broker_db}",
        "CACHE_URL": f"redis://127.0.0.1:6379/{broker_db - 1}",
        "KYC_VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(var_dir / "media"),
        "KYC_WEBHOOKS_ALLOW_PRIVATE": "true",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def fresh_database(env: dict[str, str], *, static: bool = True) -> None:
    """Drop and re-create the database env's DATABASE_URL names, then migrate (and collect static
    files for the servers that serve them)."""
    name = urlparse(env["DATABASE_URL"]).path.lstrip("/")
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    commands = [["migrate", "--noinput", "-v0"]]
    if static:
        commands.append(["collectstatic", "--noinput", "-v0"])
    for command in commands:
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)


def django_setup(env: dict[str, str]) -> None:
    """Configure this process like the servers (call before importing models)."""
    os.environ.update(env)
    import django

    django.setup()


def advance_only(**settings: str) -> tuple[Any, dict[str, str]]:
    """The ADVANCE sandbox (a thread of this process, 0 ms latency, scripted scores) and a fresh
    production-like environment, `settings` applied, in which it is the only enabled vendor.
    Django is set up in this process; returns (sandbox, env)."""
    return vendor_only("advance", **settings)


def vendor_only(vendor: str, **settings: str) -> tuple[Any, dict[str, str]]:
    """`advance_only` for any vendor's sandbox (FinAuth's request log names our attempt)."""
    from vendors.sandboxes.registry import start_sandbox

    sandbox = start_sandbox(vendor)
    env = environment(Path(tempfile.mkdtemp(prefix="kyc-bench-")) / "var")
    env.update(sandbox.app.client_settings(sandbox.url))
    env.update(settings)
    fresh_database(env)
    for url in {env["CELERY_BROKER_URL"], env["CACHE_URL"]}:
        if url.startswith("redis://"):
            redis.Redis.from_url(url).flushdb()
    django_setup(env)
    if not env["CELERY_BROKER_URL"].startswith("redis://"):  # another broker (RabbitMQ)
        from kyc.celery import app

        app.control.purge()
    from vendors.models import VendorConfig

    VendorConfig.objects.update(enabled=False)
    VendorConfig.objects.filter(backend=vendor).update(enabled=True, timeout_seconds=10)
    httpx.post(f"{sandbox.url}/__sandbox/config", json={"engine": False, "latency_ms": 0})
    return sandbox, env


def free_port() -> int:
    """A loopback port nothing listens on, for a server the benchmark starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_pair() -> tuple[bytes, bytes]:
    """The selfie and reference every pipeline benchmark submits (~280 KB and ~350 KB JPEGs)."""
    return (FACES / "fr_obama.jpg").read_bytes(), (FACES / "df_img2.jpg").read_bytes()


def start_web(env: dict[str, str], port: int, *, workers: int = 2) -> subprocess.Popen[bytes]:
    """gunicorn on 127.0.0.1:`port` with `env`, once it answers; warnings only (no access log, so
    the figures are not about writing one)."""
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "kyc.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(150):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def cost_in_this_thread(
    loop: Callable[[], object], profile: str | None = None
) -> tuple[float, float, pstats.Stats | None]:
    """CPU and wall seconds this thread spends in `loop()`. With `profile` (a file name),
    cProfile runs around it on this thread's CPU clock; its stats are saved there and returned."""
    profiler = cProfile.Profile(time.thread_time) if profile else None
    cpu_started, started = time.thread_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    loop()
    if profiler:
        profiler.disable()
    cpu, wall = time.thread_time() - cpu_started, time.perf_counter() - started
    if profiler is None or profile is None:
        return cpu, wall, None
    profiler.dump_stats(profile)
    return cpu, wall, pstats.Stats(profiler)
