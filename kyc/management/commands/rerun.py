"""`manage.py rerun --vendor NAME --since DATE [--status ...] [--limit N] [--wait]`.

Compares past pairs again on another vendor (calibration before switching or tuning a vendor).
The pairs keep their decisions: re-run attempts are recorded and judged, never acted on.
Without --wait the attempts go to the Celery workers; with --wait this process runs the ones no
worker has taken yet, waits for the rest, and prints what the vendor would have decided.
"""

from __future__ import annotations

import logging
import time
from datetime import date, datetime
from datetime import time as dtime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kyc.audit.chain import Actor
from kyc.models import AttemptStatus, ComparisonAttempt, PairStatus
from kyc.services import pipeline, rerun
from vendors.models import Backend, VendorConfig

logger = logging.getLogger(__name__)
DEFAULT_LIMIT = 1000


class Progress:
    """A one-line bar redrawn in place on a terminal; a line every tenth elsewhere."""

    def __init__(self, command: BaseCommand, total: int) -> None:
        self.out = command.stdout
        self.total = total
        self.tty = self.out.isatty()
        self.started = time.monotonic()
        self._last_tenth = -1

    def update(self, done: int, failed: int = 0) -> None:
        if not self.total:
            return
        fraction = done / self.total
        if self.tty:
            width = 30
            filled = int(width * fraction)
            bar = "#" * filled + "." * (width - filled)
            elapsed = time.monotonic() - self.started
            self.out.write(
                f"\r[{bar}] {done}/{self.total} {fraction:4.0%}  failed {failed}  {elapsed:5.0f}s",
                ending="",
            )
            self.out.flush()
            return
        tenth = int(fraction * 10)
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self.out.write(f"{done}/{self.total} done ({fraction:.0%}), {failed} failed")

    def finish(self) -> None:
        if self.tty and self.total:
            self.out.write("")


class Command(BaseCommand):
    help = "Re-run past pairs on another vendor without changing their decisions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--vendor", required=True, choices=Backend.values)
        parser.add_argument(
            "--since", required=True, type=date.fromisoformat, help="YYYY-MM-DD (pair created)"
        )
        parser.add_argument(
            "--status",
            default=",".join(rerun.DEFAULT_STATUSES),
            help="Comma-separated original outcomes (default approved,rejected,resubmit).",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=DEFAULT_LIMIT,
            help=f"At most this many pairs (default {DEFAULT_LIMIT}; every one is a vendor call).",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Run the attempts here (those no worker took) and print the comparison.",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=900.0,
            help="With --wait: give up waiting for workers after this many seconds.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        vendor: str = options["vendor"]
        statuses = [s.strip() for s in options["status"].split(",") if s.strip()]
        unknown = sorted(set(statuses) - set(PairStatus.values))
        if unknown:
            raise CommandError(
                f"Unknown status {', '.join(unknown)}; use {', '.join(PairStatus.values)}."
            )
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        config = VendorConfig.objects.filter(backend=vendor).first()
        if config is None:
            raise CommandError(f"Vendor {vendor} has no configuration row.")
        if not config.enabled:
            self.stdout.write(
                self.style.WARNING(
                    f"Note: {vendor} is not enabled for new pairs; re-running anyway."
                )
            )
        since_day = options["since"]
        if isinstance(since_day, str):  # call_command() passes keyword options unparsed
            since_day = date.fromisoformat(since_day)
        since = datetime.combine(since_day, dtime.min, tzinfo=timezone.get_current_timezone())
        pair_ids = list(
            rerun.candidates(vendor, since, statuses, options["limit"]).values_list("pk", flat=True)
        )
        if not pair_ids:
            self.stdout.write("No pairs to re-run (with images, matching the filters).")
            return
        actor = Actor.system("manage.py rerun")
        attempt_ids = []
        for pair_id in pair_ids:
            attempt = rerun.request_rerun(pair_id, vendor, actor)
            if attempt is not None:
                attempt_ids.append(attempt.pk)
        self.stdout.write(
            f"Re-running {len(attempt_ids)} pairs on {vendor} "
            f"(created since {since_day}, outcomes {', '.join(statuses)})."
        )
        if options["wait"]:
            self._run_and_wait(attempt_ids, options["timeout"])
        else:
            self.stdout.write("Enqueued for the workers; run again with --wait to see verdicts.")
        summary = rerun.summarise(attempt_ids)
        self.stdout.write("")
        self.stdout.write(rerun.format_table(summary.table()))
        same, answered = summary.agreement()
        if answered:
            self.stdout.write("")
            self.stdout.write(
                f"Same outcome as decided: {same} of {answered} answered pairs "
                f"({same / answered:.0%}). Decisions were not changed."
            )

    def _run_and_wait(self, attempt_ids: list[int], timeout: float) -> None:
        progress = Progress(self, len(attempt_ids))
        done_states = {AttemptStatus.COMPLETED, AttemptStatus.INVALID_INPUT, AttemptStatus.FAILED}
        finished: set[int] = set()
        failed = 0

        def count() -> None:
            nonlocal failed
            rows = ComparisonAttempt.objects.filter(pk__in=attempt_ids, status__in=done_states)
            finished.update(rows.values_list("pk", flat=True))
            failed = rows.filter(status=AttemptStatus.FAILED).count()

        for attempt_id in attempt_ids:
            try:
                pipeline.run_attempt(attempt_id)  # a no-op when a worker already claimed it
            except Exception:
                logger.exception("re-run attempt raised", extra={"attempt_id": attempt_id})
            count()
            progress.update(len(finished), failed)
        deadline = time.monotonic() + timeout
        while len(finished) < len(attempt_ids) and time.monotonic() < deadline:
            time.sleep(1.0)
            count()
            progress.update(len(finished), failed)
        progress.finish()
        if len(finished) < len(attempt_ids):
            self.stdout.write(
                self.style.WARNING(
                    f"{len(attempt_ids) - len(finished)} attempts still running after "
                    f"{timeout:.0f}s; they finish in the background."
                )
            )
