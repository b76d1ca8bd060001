"""Known-face search at scale (issue 20): time and memory per search for 10k, 100k and 1M
templates of one client, exact (numpy, as kyc.known_faces.gallery does it) and approximate
(the faiss IVF-Flat index of kyc.known_faces.index, as the gallery builds it), the index's
recall@1 against exact search and its recall of planted near-duplicates, and the time to seal
and to open the index's snapshot (what a worker loading it pays instead of the build).

Synthetic 128-d vectors shaped like dlib descriptors: unrelated faces about 0.88 apart (the
impostor mean of LOCAL-ENGINE §7), and planted near-duplicates (another photo of a face already
in the gallery) about 0.4 from their original (the genuine median). One core: BLAS and faiss
search run single-threaded; the index build may use several threads (`--build-threads`), and
its time is printed.

    python bench/known_faces.py [--sizes 10000,100000,1000000] [--queries 200] [--build-threads 2]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The repository root replaces bench/ on the path: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parents[1])

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core for the search, before numpy loads its BLAS

import argparse
import resource
import time

import numpy as np

from kyc.known_faces import index as ivf
from kyc.known_faces.index import CELLS, DIMENSIONS, PROBES

IMPOSTOR_SD = 0.88 / np.sqrt(2 * DIMENSIONS)  # per-dimension spread giving ~0.88 between faces
GENUINE_DISTANCE = 0.40
MATCH_DISTANCE = 0.50  # the default threshold: similarity 80 (LOCAL-ENGINE §7)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(samples: list[float]) -> tuple[float, float]:
    values = np.array(samples) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def exact_search(
    vectors: np.ndarray, norms: np.ndarray, query: np.ndarray, k: int = 5
) -> np.ndarray:
    squared = norms + float(query @ query) - 2.0 * (vectors @ query)
    top = np.argpartition(squared, k)[:k]
    return top[np.argsort(squared[top])]


def run(
    size: int, queries: int, build_threads: int, rng: np.random.Generator, *, index: bool
) -> None:
    before = rss_mb()
    vectors = (rng.standard_normal((size, DIMENSIONS)) * IMPOSTOR_SD).astype(np.float32)
    norms = np.einsum("ij,ij->i", vectors, vectors)
    # Half the queries are new faces, half another photo of a face in the gallery.
    planted = rng.choice(size, queries // 2, replace=False)
    noise_sd = GENUINE_DISTANCE / np.sqrt(DIMENSIONS)
    near = vectors[planted] + (rng.standard_normal((len(planted), DIMENSIONS)) * noise_sd)
    fresh = rng.standard_normal((queries - len(planted), DIMENSIONS)) * IMPOSTOR_SD
    probes = np.concatenate([near, fresh]).astype(np.float32)
    exact_mb = rss_mb() - before

    times, exact_top = [], []
    for query in probes:
        started = time.perf_counter()
        exact_top.append(exact_search(vectors, norms, query))
        times.append(time.perf_counter() - started)
    p50, p95 = percentiles(times)
    print(
        f"{size:>9,}  exact   p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  "
        f"matrix {vectors.nbytes / 2**20:7.1f} MiB  (max RSS grew {exact_mb:.0f} MiB)"
    )

    if not index:
        return
    import faiss

    faiss.omp_set_num_threads(build_threads)
    started = time.perf_counter()
    index = ivf.build_index(np.arange(size, dtype=np.int64), vectors)
    build = time.perf_counter() - started
    faiss.omp_set_num_threads(1)
    index_mb = len(ivf.to_bytes(index)) / 2**20
    times, hits_at_1, planted_found = [], 0, 0
    for i, query in enumerate(probes):
        started = time.perf_counter()
        keys, _ = ivf.search(index, query, 5)
        times.append(time.perf_counter() - started)
        hits_at_1 += int(keys[0]) == int(exact_top[i][0])
        if i < len(planted):
            planted_found += int(keys[0]) == int(planted[i])
    p50, p95 = percentiles(times)
    exact_planted = sum(int(exact_top[i][0]) == int(planted[i]) for i in range(len(planted)))
    print(
        f"{size:>9,}  ivf     p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  "
        f"index {index_mb:7.1f} MiB  build {build:6.1f} s "
        f"({build_threads} thread{'s' if build_threads > 1 else ''})  "
        f"recall@1 vs exact {hits_at_1 / len(probes):.3f}  "
        f"planted recall {planted_found / len(planted):.3f} "
        f"({planted_found}/{len(planted)}; exact {exact_planted}/{len(planted)})"
    )
    snapshot_round_trip(size, index)
    print(f"{'':>9}  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def snapshot_round_trip(size: int, index: object) -> None:
    """What a worker pays to save the client's snapshot and another to load it instead of
    building the index: pack and seal (kyc.known_faces.snapshots), open and unpack."""
    from kyc import crypto

    keys = [crypto.MasterKey("bench", os.urandom(32))]
    ids = np.arange(size, dtype=np.int64)
    started = time.perf_counter()
    sealed = crypto.encrypt(ivf.pack(ids, ids, ids, index), keys)
    saved = time.perf_counter() - started
    started = time.perf_counter()
    loaded = ivf.unpack(crypto.decrypt(sealed, keys))[3]
    opened = time.perf_counter() - started
    assert loaded.ntotal == size
    print(
        f"{'':>9}  snapshot {len(sealed) / 2**20:7.1f} MiB sealed: pack + seal {saved:5.2f} s, "
        f"open + unpack {opened:5.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--build-threads", type=int, default=1)
    parser.add_argument(
        "--index-up-to", type=int, default=10**9, help="skip the index above this many templates"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(20)
    print(
        f"one client's gallery; {args.queries} queries each (half planted near-duplicates at "
        f"~{GENUINE_DISTANCE}); IVF-Flat, up to {CELLS} cells, {PROBES} probed per {CELLS}; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args.queries, args.build_threads, rng, index=size <= args.index_up_to)


if __name__ == "__main__":
    main()
