"""A production-like environment for the benchmarks: PostgreSQL, Redis, gunicorn, real settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from kyc.crypto import generate_master_key_entry

ROOT = Path(__file__).resolve().parents[1]
FACES = Path(os.environ.get("KYC_FACES_DIR", ROOT.parent / "shared" / "faces"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "kyc_bench"


def environment(var_dir: Path, broker_db: int = 13) -> dict[str, str]:
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


def fresh_database(env: dict[str, str]) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)


def django_setup(env: dict[str, str]) -> None:
    """Configure this process like the servers (call before importing models)."""
    os.environ.update(env)
    import django

    django.setup()
