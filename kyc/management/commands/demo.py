"""`make demo`: the whole product on one machine, stopped cleanly with Ctrl-C.

Starts the four vendor sandboxes (in this process), then gunicorn, a Celery worker and Celery
beat as child processes whose environment points every vendor at its sandbox. Once the web server
answers, it submits demo pairs through the REST API (first run only) and prints the logins.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyc.demo import DemoSignIn, SeedReport, create_demo_users, enable_backends, seed_demo_data
from kyc.worker_process import beat_command, web_command, worker_command
from vendors.sandboxes.registry import client_environment, start_all, write_environment_file


class Command(BaseCommand):
    help = "Run the web server, a Celery worker, beat and the vendor sandboxes with demo users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--sandbox-base-port", type=int, default=8101)
        parser.add_argument(
            "--no-seed", action="store_true", help="Do not submit the demo image pairs."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            # The demo makes users with published passwords and prints their second factors.
            raise CommandError(
                "The demo is for development only: it creates users with known passwords and "
                "prints their sign-in keys. It refuses to run with DJANGO_ENV=production."
            )
        port: int = options["port"]
        sandboxes = start_all("127.0.0.1", options["sandbox_base_port"])
        write_environment_file(sandboxes, Path(settings.VAR_DIR) / "sandboxes.json")
        child_env = dict(os.environ)
        for variables in client_environment(sandboxes).values():
            child_env.update(variables)
        enable_backends(list(sandboxes))
        sign_ins = create_demo_users()

        children = [
            subprocess.Popen(web_command(f"127.0.0.1:{port}"), env=child_env),
            subprocess.Popen(worker_command(16, loglevel="INFO"), env=child_env),
            subprocess.Popen(
                beat_command(Path(settings.VAR_DIR) / "celerybeat-schedule", loglevel="INFO"),
                env=child_env,
            ),
        ]
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            self._wait_until_up(f"http://127.0.0.1:{port}/accounts/login/", children)
            report = None
            if not options["no_seed"]:
                self.stdout.write("Submitting demo image pairs through the API…")
                report = seed_demo_data(
                    f"http://127.0.0.1:{port}",
                    {name: sb.url for name, sb in sandboxes.items()},
                    log=self.stdout.write,
                )
            self._banner(port, sandboxes, sign_ins, report)
            while not stop.is_set():
                if any(child.poll() is not None for child in children):
                    self.stderr.write("A demo process exited; stopping everything.")
                    break
                stop.wait(1)
        except KeyboardInterrupt:
            pass
        finally:
            self.stdout.write("Stopping…")
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
            for sandbox in sandboxes.values():
                sandbox.stop()

    def _wait_until_up(self, url: str, children: list[subprocess.Popen[bytes]]) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(child.poll() is not None for child in children):
                raise SystemExit("A demo process failed to start; see the output above.")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"The web server did not answer at {url} within 60 s.")

    def _banner(
        self,
        port: int,
        sandboxes: dict[str, Any],
        sign_ins: list[DemoSignIn],
        report: SeedReport | None,
    ) -> None:
        if report is None:
            seeded = "  Demo data: not seeded (--no-seed)."
        elif report.skipped:
            seeded = "  Demo data: already there (the demo client has pairs); nothing submitted."
        else:
            seeded = (
                f"  Demo data: {report.needs_review} pairs wait in the review queue; "
                + ", ".join(f"{n} {s}" for s, n in sorted(report.statuses.items()))
                + (
                    " (generated images: ../shared/faces not found)"
                    if report.generated_images
                    else ""
                )
            )
        lines = [
            "",
            f"  KYC face review is running at http://127.0.0.1:{port}/",
            seeded,
            "",
            "  Sign in with the password, then the code an authenticator app shows for the user's",
            "  key (add it by hand as a time-based key), or one of the user's recovery codes",
            "  (each works once; new ones at every start):",
            *(line for sign_in in sign_ins for line in _sign_in_lines(sign_in)),
            "",
            "  Vendor sandboxes: "
            + ", ".join(f"{name} {sb.url}" for name, sb in sandboxes.items()),
            "  Ctrl-C stops everything.",
            "",
        ]
        self.stdout.write("\n".join(lines))


def _sign_in_lines(sign_in: DemoSignIn) -> list[str]:
    login = sign_in.login
    return [
        f"    {login.username:10} {login.password:22} {login.role}",
        f"    {'':10} key {sign_in.totp_key}",
        f"    {'':10} recovery codes {' '.join(sign_in.recovery_codes)}",
    ]
