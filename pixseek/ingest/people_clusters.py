"""Faces grouped into people, incrementally: each face not anyone's yet joins the person most of its near
faces belong to, or starts a new person with the next such faces; ids stay as they are.

A face joins a person when at least VOTES of its NEIGHBOURS nearest faces closer than FACE_SAME_PERSON
are that person's (one, while the person has fewer faces), never a person who already has a face in the
same photo. Faces are taken in the order of their photos' content hashes (store/faces.descriptors), so
the same photos give the same people on every run and machine, whatever order they were indexed in.
A new group of a single face is not made a person: it stays pending and is looked at again next run,
when more photos may join it. People are never merged here, named or not (that is `people merge`), so
a name, once given, never spreads to someone else's cluster on its own.
Thresholds were tuned on half the people of faces/ and checked on the other half (docs/people.md).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from pixseek.config import FACE_SAME_PERSON
from pixseek.store import faces as store

NEIGHBOURS = 10
VOTES = 2
MIN_PERSON = 2  # faces a new person needs


@dataclass
class ClusterCounts:
    joined: int = 0  # pending faces that joined an existing person
    new_people: int = 0
    in_new_people: int = 0
    pending: int = 0  # faces left without a person

    def to_dict(self) -> dict:
        return dict(vars(self))


def cluster(db: sqlite3.Connection, threshold: float = FACE_SAME_PERSON) -> ClusterCounts:
    """Give the pending faces a person where they have one; the caller commits (one transaction)."""
    every = store.descriptors(db)
    labels, counts = assign(every.vectors, every.people.copy(), every.contents, threshold)
    new_ids: dict[int, int] = {}
    for i in np.flatnonzero((every.people < 0) & (labels != -1)):
        label = int(labels[i])
        if label < -1:  # a new group: made a person when it is first met (groups are numbered -2, -3, ...)
            if label not in new_ids:
                new_ids[label] = store.new_person(db)
            label = new_ids[label]
        store.assign(db, [int(every.ids[i])], label)
    return counts


def assign(vectors: np.ndarray, people: np.ndarray, contents: np.ndarray, threshold: float = FACE_SAME_PERSON,
           neighbours: int = NEIGHBOURS, votes: int = VOTES) -> tuple[np.ndarray, ClusterCounts]:
    """people: a person id per face, -1 for pending. Returns the labels after clustering: person ids,
    -2, -3, ... for new groups, -1 for faces left pending."""
    counts = ClusterCounts()
    pending = np.flatnonzero(people < 0)
    if len(pending) == 0:
        return people, counts
    near, dist = _neighbours(vectors, pending, neighbours + 1)
    labels = people.copy()
    size: dict[int, int] = {}
    for p in labels[labels >= 0].tolist():
        size[p] = size.get(p, 0) + 1
    in_photo: dict[int, set[int]] = {}
    for i in np.flatnonzero(labels >= 0):
        in_photo.setdefault(int(contents[i]), set()).add(int(labels[i]))
    next_group = -2
    for row, i in enumerate(pending.tolist()):
        ballot: dict[int, list[float]] = {}
        for j, d in zip(near[row].tolist(), dist[row].tolist()):
            if j < 0 or j == i or d >= threshold or labels[j] == -1:
                continue
            ballot.setdefault(int(labels[j]), []).append(d)
        taken = in_photo.get(int(contents[i]), set())
        best = None
        for label, ds in ballot.items():
            if label in taken or len(ds) < min(votes, size.get(label, 0)):
                continue
            key = (len(ds), -min(ds))
            if best is None or key > best[0]:
                best = (key, label)
        if best is not None:
            label = best[1]
            counts.joined += label >= 0
        else:
            label, next_group = next_group, next_group - 1
        labels[i] = label
        size[label] = size.get(label, 0) + 1
        in_photo.setdefault(int(contents[i]), set()).add(label)
    for label in {int(v) for v in labels[pending]}:
        if label < -1 and size[label] < MIN_PERSON:
            labels[labels == label] = -1
        elif label < -1:
            counts.new_people += 1
            counts.in_new_people += size[label]
    counts.pending = int((labels[pending] == -1).sum())
    return labels, counts


def _neighbours(vectors: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest faces (any, itself included) of each face in `rows`, exact: their indices and
    Euclidean distances, nearest first (-1 past the end)."""
    import faiss

    index = faiss.IndexFlatL2(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, np.float32))
    d2, idx = index.search(np.ascontiguousarray(vectors[rows], np.float32), min(k, len(vectors)))
    return idx, np.sqrt(np.maximum(d2, 0))
