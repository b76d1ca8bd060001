"""Speed, memory and accuracy of the local face engine (LOCAL-ENGINE.md §4, §5).

    .venv/bin/python bench/local_engine.py [--faces ../shared/faces] [--pairs N]

Prints the model load time, time per image (engine.analyze_bytes: decode + detect + embed), time
per pair (LocalAdapter.compare including kyc.images preparation of both images), the process's
peak memory, and accuracy at score >= 60 / >= 70 and ROC AUC over pairs.csv, scored end to end
through the adapter. Figures only; nothing is asserted (DESIGN §11.9).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import csv
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc.settings")

import django

django.setup()

import numpy as np

from kyc.images import prepare_for_backend
from vendors.base import CompareRequest, ResultStatus
from vendors.local.adapter import LocalAdapter
from vendors.local.engine import get_engine


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann-Whitney U / (n_pos * n_neg), from ranks with ties averaged."""
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average the ranks of tied scores
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    positives = int(labels.sum())
    negatives = len(labels) - positives
    u = ranks[labels == 1].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def quantiles(values: list[float]) -> str:
    ms = np.array(values) * 1000
    return (
        f"median {statistics.median(ms):7.1f} ms   p90 {np.percentile(ms, 90):7.1f} ms   "
        f"max {ms.max():7.1f} ms   (n={len(ms)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--faces", type=Path, default=ROOT.parent / "shared" / "faces")
    parser.add_argument("--pairs", type=int, default=0, help="only the first N pairs (0: all)")
    args = parser.parse_args()
    faces: Path = args.faces

    started = time.perf_counter()
    engine = get_engine()
    print(f"model load            {time.perf_counter() - started:7.3f} s")

    names = [row["file"] for row in csv.DictReader((faces / "labels.csv").open(newline=""))]
    per_image: list[float] = []
    without_face = 0
    for name in names:
        data = (faces / name).read_bytes()
        started = time.perf_counter()
        analysis = engine.analyze_bytes(data)
        per_image.append(time.perf_counter() - started)
        without_face += not analysis.faces
    print(f"per image (analyze)   {quantiles(per_image)}   no face: {without_face}")

    with (faces / "pairs.csv").open(newline="") as handle:
        pairs = [(row["img_a"], row["img_b"], int(row["same"])) for row in csv.DictReader(handle)]
    if args.pairs:
        pairs = pairs[: args.pairs]
    adapter = LocalAdapter({})
    per_pair: list[float] = []
    scores: list[float] = []
    labels: list[int] = []
    distances: dict[int, list[float]] = {0: [], 1: []}
    for first, second, same in pairs:
        selfie, reference = (faces / first).read_bytes(), (faces / second).read_bytes()
        started = time.perf_counter()
        request = CompareRequest(
            selfie=prepare_for_backend(selfie, "local", field="selfie"),
            reference=prepare_for_backend(reference, "local", field="reference"),
            reference_id="bench",
        )
        result = adapter.compare(request)
        per_pair.append(time.perf_counter() - started)
        if result.status != ResultStatus.COMPLETED or result.score is None:
            print(f"  {first} / {second}: {result.status} {result.error_code}")
            scores.append(0.0)
        else:
            scores.append(result.score)
            distances[same].append(float(result.vendor_score))
        labels.append(same)
    print(f"per pair (prepare+compare) {quantiles(per_pair)}")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(f"peak memory (ru_maxrss) {peak:7.0f} MB")

    score_array, label_array = np.array(scores), np.array(labels)
    same, different = label_array == 1, label_array == 0
    print(f"pairs                 {int(same.sum())} same-person, {int(different.sum())} different")
    for threshold in (60, 70):
        accepted = score_array >= threshold
        accuracy = float((accepted == same).mean())
        false_accepts = int((accepted & different).sum())
        false_rejects = int((~accepted & same).sum())
        print(
            f"accuracy at score >= {threshold}  {accuracy:.4f}   "
            f"false accepts {false_accepts}/{int(different.sum())}   "
            f"false rejects {false_rejects}/{int(same.sum())}"
        )
    if same.any() and different.any():
        print(f"ROC AUC               {roc_auc(score_array, label_array):.4f}")
    for label, title in ((1, "same-person"), (0, "different")):
        if distances[label]:
            values = distances[label]
            print(
                f"{title:>11} distance  min {min(values):.3f}"
                f"  median {statistics.median(values):.3f}  max {max(values):.3f}"
            )


if __name__ == "__main__":
    main()
