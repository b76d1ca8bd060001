"""The approximate index a large client's gallery searches with (kyc.known_faces.gallery), in
one place with its settings so bench/known_faces.py measures the very index the workers build.
Free of Django: the bench imports it without setting Django up.

faiss IVF-Flat: k-means cells trained on a sample, each template stored whole in its cell, a
search scans the `PROBES` cells nearest the query exactly. Chosen over usearch HNSW by
bench/known_faces.py on the shared 2-core machine (100k templates): IVF built in 4.5 s and found
100/100 planted near-duplicates at p95 0.5 ms; HNSW (connectivity 32) took 161 s to build and
found 98/100, and with connectivity 16 in f16 38 s (2 threads) for 69/100. The cells are
trained once: with `CELLS` fixed a 1M gallery scans about 125k templates per search, linear in
the gallery beyond that (retrain with more cells past a few million).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

#: The local engine's face descriptors (LOCAL-ENGINE §7).
DIMENSIONS = 128
#: k-means cells, and how many of them (the nearest to the query) a search scans: one eighth,
#: which found every planted near-duplicate at 100k (one sixteenth missed 1 in 100).
CELLS = 1024
PROBES = 128
#: Training points per cell: faiss wants at least 39; more only slows the k-means.
TRAINING_PER_CELL = 64


def build_index(ids: np.ndarray, vectors: np.ndarray, *, seed: int = 20) -> Any:
    """An IVF-Flat index over squared L2 distances of `vectors`, keyed by `ids` (int64)."""
    import faiss

    vectors = np.ascontiguousarray(vectors, np.float32)
    cells = max(1, min(CELLS, len(vectors) // TRAINING_PER_CELL))
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(DIMENSIONS), DIMENSIONS, cells)
    sample = vectors
    if len(vectors) > cells * TRAINING_PER_CELL:
        chosen = np.random.default_rng(seed).choice(
            len(vectors), cells * TRAINING_PER_CELL, replace=False
        )
        sample = vectors[np.sort(chosen)]
    index.train(sample)
    index.nprobe = _probes(cells)
    add(index, ids, vectors)
    return index


def _probes(cells: int) -> int:
    """Cells a search scans: the same share of them however many the gallery could train."""
    return max(1, cells * PROBES // CELLS)


def add(index: Any, ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
    index.add_with_ids(np.ascontiguousarray(vectors, np.float32), np.asarray(ids, dtype=np.int64))


def remove(index: Any, ids: np.ndarray | list[int]) -> int:
    import faiss

    return int(index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64))))


def search(index: Any, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ids and squared distances of the `k` nearest templates found (-1 pads short lists)."""
    squared, ids = index.search(np.asarray(query, np.float32).reshape(1, -1), k)
    return ids[0], squared[0]


def to_bytes(index: Any) -> bytes:
    import faiss

    return bytes(faiss.serialize_index(index))


def from_bytes(blob: bytes) -> Any:
    import faiss

    index: Any = faiss.deserialize_index(np.frombuffer(blob, dtype=np.uint8))
    index.nprobe = _probes(index.nlist)
    return index


def pack(ids: np.ndarray, pairs: np.ndarray, applicants: np.ndarray, index: Any) -> bytes:
    """A gallery snapshot's plaintext: the index and the ids, pairs and applicants it covers
    (kyc.known_faces.snapshots seals it)."""
    buffer = io.BytesIO()
    np.savez(
        buffer,
        ids=ids,
        pairs=pairs,
        applicants=applicants,
        index=np.frombuffer(to_bytes(index), dtype=np.uint8),
    )
    return buffer.getvalue()


def unpack(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """`pack`'s arrays and index; KeyError or ValueError when the bytes are not a snapshot."""
    arrays = np.load(io.BytesIO(blob), allow_pickle=False)
    return (
        arrays["ids"],
        arrays["pairs"],
        arrays["applicants"],
        from_bytes(arrays["index"].tobytes()),
    )
