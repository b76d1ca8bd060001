"""Benchmark-only settings: production settings plus the bench's own comparison endpoints."""

from kyc.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
