"""Metadata filters pushed down to Milvus with a vector search, and the folder fields they match."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

MAX_FOLDER_DEPTH = 64


@dataclass(frozen=True)
class MetaFilter:
    """Metadata conditions pushed down to Milvus with the vector search (all optional, combined with AND).

    folder: only images at or below this folder. modified_after / modified_before: file mtime in
    seconds since the epoch. min_bytes / max_bytes: file size. ids: only these content ids (conditions
    Milvus keeps no field for, such as the date taken, the file type or the place, resolved by the catalog first).
    A content shared by several files carries the metadata of the file that brought it into the
    collection first.
    """

    folder: str | None = None
    modified_after: float | None = None
    modified_before: float | None = None
    min_bytes: int | None = None
    max_bytes: int | None = None
    ids: tuple[int, ...] | None = None

    def expr(self) -> str:
        parts = []
        if self.folder is not None:
            folder = str(PurePosixPath(os.path.abspath(os.path.expanduser(self.folder))))
            parts.append(f"array_contains(folders, {json.dumps(folder)})")
        if self.modified_after is not None:
            parts.append(f"mtime >= {int(self.modified_after)}")
        if self.modified_before is not None:
            parts.append(f"mtime < {int(np.ceil(self.modified_before))}")
        if self.min_bytes is not None:
            parts.append(f"size >= {int(self.min_bytes)}")
        if self.max_bytes is not None:
            parts.append(f"size <= {int(self.max_bytes)}")
        if self.ids is not None:
            parts.append(f"id in [{','.join(str(int(i)) for i in self.ids)}]")
        return " and ".join(parts)


def ancestors(path: str) -> tuple[str, list[str]]:
    """(parent folder, every folder above the file, root first) for the `folder`/`folders` fields."""
    parents = [str(p) for p in reversed(PurePosixPath(path).parents)]
    return parents[-1], parents[-MAX_FOLDER_DEPTH:]


