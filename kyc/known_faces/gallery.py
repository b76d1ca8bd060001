"""Per-client galleries of face templates, held in memory by each face worker process.

Loaded incrementally from the database by id watermark: each search first reads the templates
added since the last one (so a worker that starts late, or one on another host, sees every
template committed meanwhile) and drops the ones purged since (retention, erasure). Search is
exact with numpy (one float32 matrix-vector product) up to `APPROXIMATE_FROM` templates, then
from the faiss IVF index of kyc.known_faces.index.

The index is built once per client, not per worker: the worker that builds it (holding a cache
lock, so the others keep searching exactly meanwhile) saves an encrypted snapshot
(kyc.known_faces.snapshots); the others load it and read only the templates after its
watermark. A worker whose gallery runs `SNAPSHOT_BEHIND` ahead of the snapshot, or whose
snapshot a purge deleted, saves a new one. Every hit is checked against the database before
it is returned: a template purged a moment ago never matches.

Distances are the engine's Euclidean ones, from ||q||² + ||x||² - 2 q·x; scores are its
calibrated similarity (vendors.local.engine.similarity, LOCAL-ENGINE §7).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from kyc.known_faces import index as ivf
from kyc.known_faces import snapshots
from kyc.known_faces.models import DIMENSIONS, FaceTemplate, unseal
from vendors.local.engine import similarity

#: From this many templates a client's search uses the approximate index. bench/known_faces.py
#: on the shared 2-core machine (two runs, load average 4.6-9.0): exact p95 10-15 ms at 100k and
#: 82-177 ms at 1M; the IVF index p95 13-15 ms at 1M, built in 13-17 s (2 threads), finding
#: 498/500 planted near-duplicates. Below this size exact search is fast and needs no build.
APPROXIMATE_FROM = 50_000
#: A new snapshot once the gallery holds this share more templates than the current one (or at
#: least `SNAPSHOT_MIN_NEW`): loaders then unseal at most that many templates one by one.
SNAPSHOT_BEHIND = 0.05
SNAPSHOT_MIN_NEW = 1_000
#: Ids are drawn when a row is inserted, not when it commits: a template committed after one
#: with a higher id was read falls below the watermark. Each refresh looks this many ids back
#: for templates the gallery does not hold yet (one indexed range query of ids).
LATE_IDS = 1_000
#: Purges are looked for from the last look less this margin: a purge's timestamp is taken
#: before its transaction commits, and hosts' clocks differ a little.
PURGE_MARGIN = timedelta(minutes=5)
#: One worker builds or saves a client's index at a time; the lock outlives a crashed holder
#: by this long at most.
LOCK_SECONDS = 3600


def _empty_ids() -> np.ndarray:
    return np.zeros(0, np.int64)


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
    #: Template ids, ascending (loaded by id, dropped in place), with their pairs and applicants.
    ids: np.ndarray = field(default_factory=_empty_ids)
    pairs: np.ndarray = field(default_factory=_empty_ids)
    applicants: np.ndarray = field(default_factory=_empty_ids)
    #: The templates themselves, for exact search; empty once the index holds them.
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, DIMENSIONS), np.float32))
    norms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    purges_seen_from: datetime | None = None
    index: Any = None
    #: Templates in the client's snapshot as this worker last knew it; None: look again.
    snapshot_templates: int | None = None

    def __len__(self) -> int:
        return len(self.ids)

    # --- loading ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read templates added since the watermark; drop those purged since the last look;
        build, load or save the index as the gallery's size asks."""
        if self.index is None and (self.watermark == 0 or len(self) >= APPROXIMATE_FROM):
            self._load_snapshot()
        if self.purges_seen_from is None:
            self.purges_seen_from = timezone.now() - PURGE_MARGIN
        self._load_new()
        self._drop_purged()
        if self.index is None and len(self) >= APPROXIMATE_FROM:
            self._build_index()
        elif self.index is not None and self._snapshot_behind():
            self._save_snapshot()

    def _load_snapshot(self) -> None:
        snapshot = snapshots.load(self.client_id)
        if snapshot is None:
            return
        self.watermark = snapshot.watermark
        self.ids, self.pairs, self.applicants = snapshot.ids, snapshot.pairs, snapshot.applicants
        self.vectors = self.vectors[:0]
        self.norms = self.norms[:0]
        self.index = snapshot.index
        self.purges_seen_from = snapshot.purges_seen_from
        self.snapshot_templates = len(snapshot.ids)

    def _load_new(self) -> None:
        late = self._late_ids()
        rows = list(
            FaceTemplate.objects.filter(
                Q(pk__gt=self.watermark) | Q(pk__in=late),
                client_id=self.client_id,
                purged_at__isnull=True,
            )
            .order_by("pk")
            .values_list("pk", "pair_id", "applicant_id", "sealed")
        )
        if not rows:
            return
        new = np.stack([unseal(row[3]) for row in rows]).astype(np.float32)
        ids = np.array([row[0] for row in rows], np.int64)
        self.ids = np.concatenate([self.ids, ids])
        self.pairs = np.concatenate([self.pairs, np.array([row[1] for row in rows], np.int64)])
        self.applicants = np.concatenate(
            [self.applicants, np.array([row[2] for row in rows], np.int64)]
        )
        self.watermark = max(self.watermark, int(ids[-1]))
        if self.index is not None:
            ivf.add(self.index, ids, new)
        else:
            self.vectors = np.concatenate([self.vectors, new])
            self.norms = np.concatenate([self.norms, np.einsum("ij,ij->i", new, new)])
        if late:  # back in id order, which lookups by id rely on
            order = np.argsort(self.ids, kind="stable")
            self.ids, self.pairs, self.applicants = (
                self.ids[order],
                self.pairs[order],
                self.applicants[order],
            )
            if self.index is None:
                self.vectors, self.norms = self.vectors[order], self.norms[order]

    def _late_ids(self) -> list[int]:
        """Templates below the watermark this gallery does not hold: committed after one with a
        higher id was read (ids are drawn at insert, not at commit)."""
        if self.watermark == 0:
            return []
        recent = np.fromiter(
            FaceTemplate.objects.filter(
                client_id=self.client_id,
                purged_at__isnull=True,
                pk__gt=self.watermark - LATE_IDS,
                pk__lte=self.watermark,
            ).values_list("pk", flat=True),
            np.int64,
        )
        return [int(pk) for pk in recent[~self._holds(recent)]]

    def _holds(self, keys: np.ndarray) -> np.ndarray:
        """Which of `keys` are in the gallery (binary search in the sorted ids, not a scan)."""
        if not len(self.ids):
            return np.zeros(len(keys), bool)
        positions = np.minimum(np.searchsorted(self.ids, keys), len(self.ids) - 1)
        return np.asarray(self.ids[positions] == keys)

    def _drop_purged(self) -> None:
        looked_at = timezone.now()
        purged = FaceTemplate.objects.filter(
            client_id=self.client_id,
            purged_at__isnull=False,
            purged_at__gte=self.purges_seen_from,
            pk__lte=self.watermark,
        ).values_list("pk", flat=True)
        self.purges_seen_from = looked_at - PURGE_MARGIN
        purged_ids = np.fromiter(purged, np.int64)
        purged_ids = purged_ids[self._holds(purged_ids)]
        if not len(purged_ids):
            return
        gone = np.zeros(len(self.ids), bool)
        gone[np.searchsorted(self.ids, purged_ids)] = True
        if self.index is not None:
            ivf.remove(self.index, self.ids[gone])
            self.snapshot_templates = None  # the purge deleted the snapshot: make a new one
        else:
            self.vectors, self.norms = self.vectors[~gone], self.norms[~gone]
        self.ids, self.pairs = self.ids[~gone], self.pairs[~gone]
        self.applicants = self.applicants[~gone]

    def _build_index(self) -> None:
        with _client_lock(self.client_id) as held:
            if not held:
                return  # another worker builds it: search exactly until its snapshot is there
            self.index = ivf.build_index(self.ids, self.vectors)
            self.vectors = self.vectors[:0]
            self.norms = self.norms[:0]
            self._save_snapshot(locked=True)

    def _snapshot_behind(self) -> bool:
        if self.snapshot_templates is not None and not self._ahead_of(self.snapshot_templates):
            return False
        self.snapshot_templates = snapshots.covered(self.client_id)
        return self.snapshot_templates is None or self._ahead_of(self.snapshot_templates)

    def _ahead_of(self, templates: int) -> bool:
        return len(self) - templates >= max(SNAPSHOT_MIN_NEW, SNAPSHOT_BEHIND * templates)

    def _save_snapshot(self, *, locked: bool = False) -> None:
        with _client_lock(self.client_id, already=locked) as held:
            if not held or self.purges_seen_from is None:
                return
            if not locked:
                # Another worker may have saved one since this one looked.
                self.snapshot_templates = None
                if not self._snapshot_behind():
                    return
            saved = snapshots.save(
                snapshots.Snapshot(
                    self.client_id,
                    self.watermark,
                    self.purges_seen_from,
                    self.ids,
                    self.pairs,
                    self.applicants,
                    self.index,
                )
            )
            if saved:
                self.snapshot_templates = len(self)

    # --- searching ----------------------------------------------------------------------------

    def search(
        self, query: np.ndarray, *, threshold: float, exclude_applicant: int | None, limit: int = 5
    ) -> list[Hit]:
        """Templates of other applicants scoring at least `threshold`, best first."""
        if not len(self):
            return []
        query = np.asarray(query, np.float32)
        found: Iterable[tuple[int, float]]
        if self.index is not None:
            found = self._search_index(query, limit)
        else:
            squared = self.norms + float(query @ query) - 2.0 * (self.vectors @ query)
            order = np.argsort(squared)
            found = ((int(i), float(squared[i])) for i in order)  # read only up to the threshold
        hits: list[Hit] = []
        for i, squared_distance in found:
            d = float(np.sqrt(max(squared_distance, 0.0)))
            score = similarity(d)
            if score < threshold:
                break
            if self.applicants[i] == exclude_applicant:
                continue
            hits.append(self._hit(i, d, score))
            if len(hits) == limit:
                break
        return _still_there(hits)

    def _search_index(self, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
        # Room for the applicant's own earlier selfies, which come first and are skipped.
        keys, squared = ivf.search(self.index, query, limit + 20)
        held = self._holds(keys)
        positions = np.searchsorted(self.ids, keys)
        return [
            (int(i), float(d))
            for i, d, found in zip(positions, squared, held, strict=True)
            if found
        ]

    def _hit(self, i: int, distance: float, score: float) -> Hit:
        return Hit(
            int(self.ids[i]),
            int(self.pairs[i]),
            int(self.applicants[i]),
            distance,
            round(score, 2),
        )


def _still_there(hits: list[Hit]) -> list[Hit]:
    """The hits whose templates are not purged: the gallery may not have seen a purge that
    committed a moment ago, and a purged face must never match (one query of a few ids)."""
    if not hits:
        return hits
    live = set(
        FaceTemplate.objects.filter(
            pk__in=[hit.template_id for hit in hits], purged_at__isnull=True
        ).values_list("pk", flat=True)
    )
    return [hit for hit in hits if hit.template_id in live]


@contextmanager
def _client_lock(client_id: int, *, already: bool = False) -> Iterator[bool]:
    """One worker at a time builds or saves the client's index (cache.add is atomic)."""
    if already:
        yield True
        return
    key = f"known-faces:index-lock:{client_id}"
    held = cache.add(key, 1, timeout=LOCK_SECONDS)
    try:
        yield held
    finally:
        if held:
            cache.delete(key)


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
