"""How long image intake and per-backend preparation take on the shared face set (DESIGN §7).

    .venv/bin/python bench/images.py [--repeat 3] [--faces ../shared/faces]

Prints, per backend, the median (and slowest) time of `prepare_for_backend` over every photo in
the face folder (top level, not bad/), with JPEG draft decoding and without it, then the median
time of `inspect_upload`. Each photo is timed `--repeat` times and its fastest run kept, so a
stray scheduler hiccup does not count; the figures are for reading, nothing asserts on them.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Run as a script, Python puts bench/ first on the path; the project packages live in REPO.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc.settings")

import django

django.setup()

from kyc.images import IMAGE_LIMITS, inspect_upload, prepare_for_backend

DEFAULT_FACES = Path(os.environ.get("KYC_FACES_DIR", REPO.parent / "shared" / "faces"))


def fastest(function: Callable[[], object], repeat: int) -> float:
    """The quickest of `repeat` runs, in milliseconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per photo (fastest kept)")
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES, help="the face folder")
    args = parser.parse_args()

    photos = sorted(
        p for p in args.faces.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"}
    )
    if not photos:
        sys.exit(f"No photos in {args.faces} (set KYC_FACES_DIR or pass --faces).")
    images = [p.read_bytes() for p in photos]
    jpegs = sum(p.suffix.lower() in {".jpg", ".jpeg"} for p in photos)
    print(f"{len(photos)} photos ({jpegs} JPEG) from {args.faces}, fastest of {args.repeat} runs")
    print()
    print(
        f"{'backend':<9} {'draft median':>13} {'full median':>12} {'speedup':>8}   "
        f"{'draft max':>10} {'full max':>9}"
    )

    for backend in sorted(IMAGE_LIMITS):
        timings: dict[bool, list[float]] = {}
        for draft in (True, False):
            timings[draft] = [
                fastest(partial(prepare_for_backend, data, backend, draft=draft), args.repeat)
                for data in images
            ]
        with_draft = statistics.median(timings[True])
        without = statistics.median(timings[False])
        speedup = without / with_draft
        print(
            f"{backend:<9} {with_draft:>10.1f} ms {without:>9.1f} ms {speedup:>7.1f}x   "
            f"{max(timings[True]):>7.1f} ms {max(timings[False]):>6.1f} ms"
        )

    intake = [
        fastest(partial(inspect_upload, data, field="selfie"), args.repeat) for data in images
    ]
    print()
    print(f"inspect_upload median {statistics.median(intake):.1f} ms, max {max(intake):.1f} ms")

    huge = args.faces / "bad" / "huge_5000x5000.jpg"
    if huge.exists():
        # Not part of the medians: the one input where draft decoding matters most.
        data = huge.read_bytes()
        fast = fastest(partial(prepare_for_backend, data, "local"), args.repeat)
        slow = fastest(partial(prepare_for_backend, data, "local", draft=False), args.repeat)
        print(f"bad/huge_5000x5000.jpg for local: {fast:.1f} ms with draft, {slow:.1f} ms without")


if __name__ == "__main__":
    main()
