"""Ingest throughput: POST /api/v1/image-pairs/ against two yardsticks, same server, same run.

    python bench/ingest.py [--seconds 15] [--connections 8]

gunicorn serves production settings (PostgreSQL, Redis broker, encrypted files) with two
workers; wrk posts the same multipart body (two ~300 KB JPEGs from ../shared/faces) to:
  trivial  a DRF endpoint that does nothing,
  floor    an endpoint that only reads both uploads and fully decodes them with Pillow,
  ingest   the real endpoint: auth, validation, encryption, storage, database, enqueue.
The figure that matters is ingest throughput as a share of the floor's (target >= 70 %).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import redis

from bench._env import FACES, django_setup, environment, free_port, fresh_database, start_web

SELFIE, REFERENCE = FACES / "fr_obama.jpg", FACES / "df_img2.jpg"
WRK_SCRIPT = """
local f = io.open("{body}", "rb"); wrk.body = f:read("*a"); f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary={boundary}"
wrk.headers["Authorization"] = "Api-Key {key}"
done = function(summary, latency, requests)
  io.write(string.format('JSON{{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"errors":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def multipart_body(boundary: str) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="applicant_ref"\r\n\r\nbench-user\r\n'.encode()
    ]
    for name, path in (("selfie", SELFIE), ("reference", REFERENCE)):
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{path.name}"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n".encode()
            + path.read_bytes()
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


def run_wrk(url: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(row for row in out.splitlines() if row.startswith("JSON"))
    data = json.loads(line[4:])
    return {
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "non2xx": data["non2xx"],
        "errors": data["errors"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="kyc-bench-"))
    env = environment(workdir / "var")
    fresh_database(env)
    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()
    django_setup(env)
    from kyc.audit.chain import Actor
    from kyc.models import ApiClient
    from kyc.services.api_clients import create_api_key

    client = ApiClient.objects.create(name="bench", throttle_rate="1000000/min")
    _, key = create_api_key(client, Actor.system("bench"))

    boundary = uuid.uuid4().hex
    body_path = workdir / "body.bin"
    body_path.write_bytes(multipart_body(boundary))
    script = workdir / "post.lua"
    script.write_text(WRK_SCRIPT.format(body=body_path, boundary=boundary, key=key))

    port = free_port()
    server = start_web(env, port, workers=args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        results = {}
        for name, path in (
            ("trivial", "/bench/trivial/"),
            ("floor", "/bench/floor/"),
            ("ingest", "/api/v1/image-pairs/"),
        ):
            run_wrk(base + path, script, 3, args.connections)  # warm-up
            results[name] = run_wrk(base + path, script, args.seconds, args.connections)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    print(
        f"\nPOST of {body_path.stat().st_size / 1024:.0f} KB multipart (two JPEGs: "
        f"{SELFIE.stat().st_size // 1024} KB + {REFERENCE.stat().st_size // 1024} KB), "
        f"{args.connections} connections, {args.seconds} s each, gunicorn {args.workers} workers x 4 threads, "
        f"{os.cpu_count()} cores shared with wrk\n"
    )
    print(f"{'endpoint':10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'errors':>7}")
    for name, r in results.items():
        print(
            f"{name:10} {r['rps']:8.1f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {r['non2xx']:8d} {r['errors']:7d}"
        )
    share = results["ingest"]["rps"] / results["floor"]["rps"]
    print(f"\ningest throughput = {share:.0%} of the decode floor (target >= 70 %)")


if __name__ == "__main__":
    main()
