"""What an index run did, counted as it goes and returned as is: `pixseek index --json`'s answer."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IndexReport:
    indexed: int = 0  # files added or updated and searchable now
    skipped: int = 0  # unchanged since the last run
    failed: int = 0  # could not be decoded this run (reasons in the catalog)
    removed: int = 0  # gone from disk, dropped from the catalog
    seconds: float = 0.0
    duplicates: int = 0  # of `indexed`, files whose content was already stored
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) of this run's failures
    text: dict | None = None  # the OCR stage's counts (ingest/ocr_stage.py) when the collection reads text
    faces: dict | None = None  # the face stage's counts (ingest/face_stage.py) when the collection finds faces

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("indexed", "skipped", "failed", "removed", "seconds", "duplicates")}
        out = out if self.text is None else {**out, "text": self.text}
        return out if self.faces is None else {**out, "faces": self.faces}
