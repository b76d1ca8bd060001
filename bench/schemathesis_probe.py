"""Schemathesis over every operation of the live API, every phase: how many server errors.

    .venv/bin/python bench/schemathesis_probe.py [--database kyc_schemathesis] [--redis-db 14]
        [--max-examples 100] [--workers 2] [--seed 15]

Starts gunicorn on a loopback port with production settings (PostgreSQL, a Redis cache and
broker, encrypted files; no Celery worker, so submitted pairs stay `received`), creates an API
client and its key, and gives the client pairs before the probe starts:

* one pair in each state a client meets (tests/kyc/api/representative_pairs.py);
* an applicant whose reference an earlier version accepted and the alphabet now refuses
  (`sec/slash-1`), written straight to the database;
* the inputs of issue 15, sent through the live API: a lone surrogate and a NUL in metadata,
  100,000 brackets of metadata (JSON body and form field), references with `/`, base64 in MIME
  lines, a 100x100 photo, metadata at its depth and size limits. (A header cannot carry a NUL or
  a lone surrogate over HTTP; tests/kyc/api/test_hardening.py sends those in-process.)

Then `schemathesis run` drives /api/v1/schema/ with every phase (examples, coverage, fuzzing,
stateful) and every check, as that client. Printed: what each issue input was answered, the
client's list read back, and schemathesis' figures (operations, test cases, failures by check;
the one that matters is `not_a_server_error`). The database and the Redis database are the
script's own: it drops and re-creates the one and flushes the other.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import base64
import json
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import redis

from bench._env import (
    FACES,
    PG,
    django_setup,
    environment,
    free_port,
    fresh_database,
    start_web,
)


def seed_rows() -> str:
    """The client, its key, its pairs in every state and a reference from before the alphabet."""
    from kyc.audit.chain import Actor
    from kyc.models import ApiClient
    from kyc.services.api_clients import create_api_key
    from tests.factories import ApplicantFactory, ImagePairFactory, store_images
    from tests.kyc.api.representative_pairs import make_representative_pairs

    client = ApiClient.objects.create(name="schemathesis", throttle_rate="1000000/min")
    _, key = create_api_key(client, Actor.system("bench"))
    make_representative_pairs(client)
    store_images(ImagePairFactory(applicant=ApplicantFactory(client=client, external_ref="old/1")))
    return key


def probe_inputs(api: httpx.Client) -> list[tuple[str, int, str]]:
    """Issue 15's inputs through the live API: (what, status, code or pair status)."""
    from tests.factories import jpeg

    selfie, reference = (FACES / "df_img1.jpg").read_bytes(), (FACES / "df_img2.jpg").read_bytes()
    selfie_64 = base64.b64encode(selfie).decode()

    def as_json(**fields: Any) -> str:
        body = {
            "applicant_ref": "probe-1",
            "selfie_base64": selfie_64,
            "reference_base64": base64.b64encode(reference).decode(),
            **fields,
        }
        return json.dumps(body)

    def as_form(selfie_data: bytes = selfie, **fields: str) -> dict[str, Any]:
        files = {"selfie": ("s.jpg", selfie_data), "reference": ("r.jpg", reference)}
        return {"data": {"applicant_ref": "probe-2", **fields}, "files": files}

    mime = "\r\n".join(selfie_64[i : i + 76] for i in range(0, len(selfie_64), 76))
    deepest = {"a": json.loads("[" * 9 + "1" + "]" * 9)}
    largest = {"x": "a" * (4096 - len(json.dumps({"x": ""})))}
    probes: list[tuple[str, dict[str, Any]]] = [
        ("JSON metadata {'a': lone surrogate}", {"content": as_json(metadata={"a": "\udc80"})}),
        ("JSON metadata {'a': NUL}", {"content": as_json(metadata={"a": "\x00"})}),
        ("JSON metadata key lone surrogate", {"content": as_json(metadata={"\udc80": 1})}),
        ("JSON vendor lone surrogate", {"content": as_json(vendor="\udc80")}),
        (
            "JSON metadata of [ x 100,000",
            {"content": as_json()[:-1] + ', "metadata": ' + "[" * 100_000},
        ),
        ("form metadata of [ x 100,000", as_form(metadata="[" * 100_000)),
        ("form metadata with \\udc80 escape", as_form(metadata='{"a": "\\udc80"}')),
        ("form applicant_ref sec/slash-1", as_form(applicant_ref="sec/slash-1")),
        ("form applicant_ref ../../etc/passwd", as_form(applicant_ref="../../etc/passwd")),
        ("JSON base64 in MIME lines", {"content": as_json(selfie_base64=mime)}),
        ("form 100x100 photo", as_form(selfie_data=jpeg(100, 100))),
        ("form metadata 10 levels deep", as_form(metadata=json.dumps(deepest))),
        ("form metadata of 4096 bytes", as_form(metadata=json.dumps(largest))),
        ("form ref of every allowed mark", as_form(applicant_ref="a._~-:@+b")),
    ]
    answers = []
    for what, request in probes:
        headers = {"Content-Type": "application/json"} if "content" in request else {}
        response = api.post("/api/v1/image-pairs/", headers=headers, **request)
        body = response.json()
        answers.append((what, response.status_code, body.get("code") or body.get("status")))
    for ref in ("old/1", "a._~-:@+b"):
        erased = api.delete(f"/api/v1/applicants/{quote(ref, safe='')}/")
        answers.append((f"DELETE {ref}", erased.status_code, f"pairs {erased.json().get('pairs')}"))
    return answers


def run_schemathesis(base: str, key: str, args: argparse.Namespace, report: Path) -> int:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{base}/api/v1/schema/",
        "--url",
        base,
        "--header",
        f"Authorization: Api-Key {key}",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--checks",
        "all",
        "--max-examples",
        str(args.max_examples),
        "--workers",
        str(args.workers),
        "--seed",
        str(args.seed),
        "--generation-database",
        "none",  # the same seed, the same run: no examples kept from an earlier one
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--no-color",
        "--output-truncate",
        "true",
    ]
    # In the run's own folder: schemathesis keeps the failures it found in .schemathesis/ and
    # replays them first next time, so the same seed would not give the same run.
    return subprocess.run(command, cwd=report.parent, check=False).returncode


@dataclass
class Figures:
    operations: set[str] = field(default_factory=set)  # as schemathesis labels them
    statuses: Counter[str] = field(default_factory=Counter)  # responses by class: 2xx, 4xx, 5xx
    failures: Counter[str] = field(default_factory=Counter)  # failed checks, by check

    @property
    def responses(self) -> int:
        return sum(self.statuses.values())


def figures(report: Path) -> Figures:
    """What schemathesis sent and got, read from its event log."""
    found = Figures()
    for line in report.read_text().splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished["recorder"]
        found.operations.add(recorder["label"])
        for interaction in recorder.get("interactions", {}).values():
            response = interaction.get("response")
            found.statuses[f"{response['status_code'] // 100}xx" if response else "none"] += 1
        for checks in recorder.get("checks", {}).values():
            for check in checks:
                if check["status"] == "failure":
                    found.failures[check["name"]] += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="kyc_schemathesis")
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="kyc-schemathesis-"))
    env = environment(workdir / "var")
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "kyc.settings",  # the API alone, no benchmark endpoints
            "DATABASE_URL": f"{PG}/{args.database}",
            "CELERY_BROKER_URL": redis_url,
            "CACHE_URL": redis_url,
            "KYC_WEBHOOKS_ALLOW_PRIVATE": "false",
            "LOG_LEVEL": "ERROR",  # thousands of 4xx lines would hide a 500's traceback
        }
    )
    fresh_database(env)
    redis.Redis.from_url(redis_url).flushdb()
    django_setup(env)
    key = seed_rows()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_web(env, port)
    report = workdir / "events.ndjson"
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Api-Key {key}"}, timeout=60
        ) as api:
            answers = probe_inputs(api)
            listed = api.get("/api/v1/image-pairs/", params={"page_size": 200})
        started = time.monotonic()
        exit_code = run_schemathesis(base, key, args, report)
        seconds = time.monotonic() - started
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        redis.Redis.from_url(redis_url).flushdb()

    print("\nIssue 15 inputs through the live API:")
    for what, status_code, outcome in answers:
        print(f"  {what:40} {status_code}  {outcome}")
    print(
        f"  {'GET the list afterwards':40} {listed.status_code}  {len(listed.json()['results'])} pairs"
    )
    found = figures(report)
    print(
        f"\nschemathesis {args.max_examples} examples/operation, seed {args.seed}, "
        f"{args.workers} workers, all phases and checks, {seconds:.0f} s, exit code {exit_code}:"
    )
    print(f"  requests sent        {found.responses}")
    for status_class, count in sorted(found.statuses.items()):
        print(f"    answered {status_class:11} {count}")
    print(
        f"  server errors        {found.statuses['5xx']} responses, "
        f"{found.failures['not_a_server_error']} not_a_server_error failures"
    )
    print("  other failed checks (see `st explain`):")
    for name, count in sorted(found.failures.items()):
        if name != "not_a_server_error":
            print(f"    {name:28} {count}")
    print("  operations:")
    for operation in sorted(found.operations):
        print(f"    {operation}")


if __name__ == "__main__":
    main()
