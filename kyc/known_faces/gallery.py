"""Per-client galleries of face templates, held in memory by each face worker process.

Loaded incrementally from the database by id watermark: each search first reads the templates
added since the last one (so a worker that starts late, or one on another host, sees every
template committed meanwhile) and drops the ones purged since (retention, erasure). Search is
exact with numpy (one float32 matrix-vector product) up to `APPROXIMATE_FROM` templates, then
from a usearch HNSW index (bench/known_faces.py measured the switch-over and the recall).

Distances are the engine's Euclidean ones, from ||q||² + ||x||² - 2 q·x; scores are its
calibrated similarity (vendors.local.engine.similarity, LOCAL-ENGINE §7).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Q

from kyc.known_faces.index import new_index
from kyc.known_faces.models import DIMENSIONS, FaceTemplate, unseal
from vendors.local.engine import similarity

#: From this many templates a client's search uses the approximate index. bench/known_faces.py
#: on a shared 2-core machine: exact p95 8 ms at 10k, 24 ms at 100k, 100-330 ms at 1M; the index
#: 0.6 ms at 10k and 7.7 ms at 100k (recall@1 against exact 0.985-0.995). Building the index
#: costs about 0.6 ms per template on one thread (161 s for 100k), paid once per worker process
#: when the client's gallery first crosses this size.
APPROXIMATE_FROM = 20_000


@dataclass(frozen=True)
class Hit:
    template_id: int
    pair_id: int
    applicant_id: int
    distance: float
    similarity: float


@dataclass
class ClientGallery:
    client_id: int
    watermark: int = 0
    ids: list[int] = field(default_factory=list)
    pairs: list[int] = field(default_factory=list)
    applicants: list[int] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, DIMENSIONS), np.float32))
    norms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    purge_watermark: Any = None
    index: Any = None

    def __len__(self) -> int:
        return len(self.ids)

    # --- loading ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read templates added since the watermark; drop those purged since the last look."""
        rows = list(
            FaceTemplate.objects.filter(
                client_id=self.client_id, pk__gt=self.watermark, purged_at__isnull=True
            )
            .order_by("pk")
            .values_list("pk", "pair_id", "applicant_id", "sealed")
        )
        if rows:
            new = np.stack([unseal(row[3]) for row in rows]).astype(np.float32)
            self.ids += [row[0] for row in rows]
            self.pairs += [row[1] for row in rows]
            self.applicants += [row[2] for row in rows]
            self.vectors = np.concatenate([self.vectors, new])
            self.norms = np.concatenate([self.norms, np.einsum("ij,ij->i", new, new)])
            self.watermark = rows[-1][0]
            if self.index is not None:
                self.index.add(np.array([row[0] for row in rows], np.uint64), new)
        self._drop_purged()
        if self.index is None and len(self) >= APPROXIMATE_FROM:
            self._build_index()

    def _drop_purged(self) -> None:
        filters = Q(client_id=self.client_id, purged_at__isnull=False, pk__lte=self.watermark)
        if self.purge_watermark is not None:
            filters &= Q(purged_at__gte=self.purge_watermark)
        purged = list(FaceTemplate.objects.filter(filters).values_list("pk", "purged_at"))
        if not purged:
            return
        self.purge_watermark = max(when for _, when in purged if when is not None)
        gone = {pk for pk, _ in purged}
        keep = [i for i, pk in enumerate(self.ids) if pk not in gone]
        if len(keep) == len(self.ids):
            return
        self.ids = [self.ids[i] for i in keep]
        self.pairs = [self.pairs[i] for i in keep]
        self.applicants = [self.applicants[i] for i in keep]
        self.vectors = self.vectors[keep]
        self.norms = self.norms[keep]
        if self.index is not None:
            for pk in gone:
                self.index.remove(pk)

    def _build_index(self) -> None:
        self.index = new_index()
        self.index.add(np.array(self.ids, np.uint64), self.vectors)

    # --- searching ----------------------------------------------------------------------------

    def search(
        self, query: np.ndarray, *, threshold: float, exclude_applicant: int | None, limit: int = 5
    ) -> list[Hit]:
        """Templates of other applicants scoring at least `threshold`, best first."""
        if not self.ids:
            return []
        query = np.asarray(query, np.float32)
        if self.index is not None:
            return self._search_index(query, threshold, exclude_applicant, limit)
        squared = self.norms + float(query @ query) - 2.0 * (self.vectors @ query)
        distances = np.sqrt(np.maximum(squared, 0.0))
        order = np.argsort(distances)
        hits: list[Hit] = []
        for i in order:
            score = similarity(float(distances[i]))
            if score < threshold:
                break
            if self.applicants[i] == exclude_applicant:
                continue
            hits.append(self._hit(int(i), float(distances[i]), score))
            if len(hits) == limit:
                break
        return hits

    def _search_index(
        self, query: np.ndarray, threshold: float, exclude_applicant: int | None, limit: int
    ) -> list[Hit]:
        position = {pk: i for i, pk in enumerate(self.ids)}
        found = self.index.search(query, limit + 20)
        hits = []
        for key, squared in zip(found.keys, found.distances, strict=True):
            i = position.get(int(key))
            if i is None:
                continue
            d = float(np.sqrt(max(float(squared), 0.0)))
            score = similarity(d)
            if score < threshold or self.applicants[i] == exclude_applicant:
                continue
            hits.append(self._hit(i, d, score))
        return hits[:limit]

    def _hit(self, i: int, distance: float, score: float) -> Hit:
        return Hit(self.ids[i], self.pairs[i], self.applicants[i], distance, round(score, 2))


_galleries: dict[int, ClientGallery] = {}
_lock = threading.Lock()


def gallery_for(client_id: int) -> ClientGallery:
    """This process's gallery of the client, brought up to date with the database."""
    with _lock:
        gallery = _galleries.setdefault(client_id, ClientGallery(client_id))
        gallery.refresh()
        return gallery


def forget_all() -> None:
    """Drop every gallery of this process (tests; a worker restarting does the same)."""
    with _lock:
        _galleries.clear()
