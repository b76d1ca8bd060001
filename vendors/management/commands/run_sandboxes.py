from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from vendors.sandboxes.registry import start_all, write_environment_file


class Command(BaseCommand):
    help = (
        "Serve local imitations of FinAuth, ADVANCE.AI, ZOLOZ and Alibaba Cloud on loopback "
        "ports and write the credentials a client needs to var/sandboxes.json."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--base-port", type=int, default=8101)
        parser.add_argument(
            "--env-file",
            default=str(Path(settings.VAR_DIR) / "sandboxes.json"),
            help="Where to write credentials.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        running = start_all(options["host"], options["base_port"])
        path = Path(options["env_file"])
        write_environment_file(running, path)
        for vendor, sandbox in running.items():
            self.stdout.write(f"{vendor:8} {sandbox.url}")
        self.stdout.write(f"Credentials written to {path}. Ctrl-C stops the sandboxes.")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for sandbox in running.values():
                sandbox.stop()
