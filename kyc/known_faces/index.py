"""The approximate index a large client's gallery searches with (kyc.known_faces.gallery), in
one place with its settings so bench/known_faces.py measures the very index the workers build.
Free of Django: the bench imports it without setting Django up.
"""

from __future__ import annotations

from typing import Any

#: The local engine's face descriptors (LOCAL-ENGINE §7).
DIMENSIONS = 128
#: HNSW parameters tuned for recall of planted near-duplicates (bench/known_faces.py).
CONNECTIVITY = 32
EXPANSION_ADD = 128
EXPANSION_SEARCH = 256


def new_index() -> Any:
    """An empty usearch HNSW index over squared L2 distances of float32 templates."""
    from usearch.index import Index

    return Index(
        ndim=DIMENSIONS,
        metric="l2sq",
        dtype="f32",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )
