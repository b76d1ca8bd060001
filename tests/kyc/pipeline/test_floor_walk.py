"""One reviewed pair's walk, from the API view to the reviewer's decision, keeps to the floors of
DESIGN §3: reviews -> kyc -> vendors. Code of a lower floor never calls into a higher one, except
kyc reaching reviews through the `pair_needs_review` signal.

Calls that the framework makes between two apps' frames (Django's request handler running the next
middleware or a view, a module being imported, a log record passing the filters that settings
installed) are wiring, not a floor crossed by our code, and are left out.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from kyc.models import PairStatus
from reviews.models import ReviewCase
from tests.factories import UserFactory
from tests.staff import StaffClient

FLOORS = {"vendors": 1, "kyc": 2, "reviews": 3}
#: Django running the next middleware or the view of a request; the logging configuration
#: running the filters and handlers that settings installed; a connection running the on-commit
#: callbacks an app registered itself (kyc cannot name a function of reviews: import-linter).
DJANGO_WIRING = (
    "django.core.handlers.",
    "django.utils.deprecation",
    "logging",
    "django.db.backends.base.base",
)


def floor_of(frame: FrameType) -> str | None:
    app = str(frame.f_globals.get("__name__", "")).split(".", 1)[0]
    return app if app in FLOORS else None


@dataclass
class Walk:
    #: (caller app, callee app, callee function, through a signal) for every call our code makes
    #: into another app than its own.
    crossings: list[tuple[str, str, str, bool]] = field(default_factory=list)

    def upward(self) -> list[tuple[str, str, str, bool]]:
        return [c for c in self.crossings if FLOORS[c[1]] > FLOORS[c[0]]]


@contextmanager
def walking() -> Iterator[Walk]:
    walk = Walk()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        callee = floor_of(frame)
        if callee is None or frame.f_code.co_name == "<module>":
            return
        caller, between = frame.f_back, set()
        while caller is not None and floor_of(caller) is None:
            between.add(str(caller.f_globals.get("__name__", "")))
            caller = caller.f_back
        if any(name.startswith(DJANGO_WIRING) for name in between):
            return
        through_signal = "django.dispatch.dispatcher" in between
        if caller is None or from_a_test(caller):
            return
        caller_app = floor_of(caller)
        if caller_app and caller_app != callee:
            walk.crossings.append(
                (
                    caller_app,
                    callee,
                    f"{frame.f_globals['__name__']}.{frame.f_code.co_name}",
                    through_signal,
                )
            )

    sys.setprofile(profile)
    try:
        yield walk
    finally:
        sys.setprofile(None)


def from_a_test(frame: FrameType) -> bool:
    return str(frame.f_globals.get("__name__", "")).startswith("tests.")


def test_a_reviewed_pair_goes_down_the_floors_and_up_only_through_the_signal(harness):
    harness.enable("advance")
    harness.sandboxes["advance"].script({"score": 62, "risk_tags": []})  # ADVANCE's 55–70 band
    reviewer = UserFactory(username="walker", role="Reviewers")
    browser = StaffClient()
    browser.force_login(reviewer)

    with walking() as walk:
        pair = harness.run(harness.submit())
        case = ReviewCase.objects.get(pair=pair)
        assert browser.post(f"/review/{case.public_id}/claim/").status_code == 302
        decided = browser.post(
            f"/review/{case.public_id}/decide/",
            {
                "outcome": "approve",
                "reason_code": "",
                "note": "",
                "stage": "first",
                "status": "claimed",
            },
        )
        assert decided.status_code == 302

    pair.refresh_from_db()
    assert pair.status == PairStatus.APPROVED and pair.decision_source == "reviewer"
    assert {(c[0], c[1]) for c in walk.crossings} >= {("kyc", "vendors"), ("reviews", "kyc")}
    upward = walk.upward()
    assert upward, "the case was opened, so kyc reached reviews once"
    assert all(through_signal for *_, through_signal in upward), upward
    assert {callee for _, _, callee, _ in upward} == {"reviews.services.on_pair_needs_review"}
