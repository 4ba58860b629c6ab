"""What the Python API returns: hits, words, tags, an index run's counts; `to_dict()` gives the `--json` shape."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from pixseek.search.terms import Ignored


class _Result:
    def to_dict(self) -> dict:
        """The `--json` shape: every field that is set."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Hit(_Result):
    path: str
    score: float
    tags: list[str] | None = None
    text: dict | None = None  # the photo text that matched: {"matched": line, "box": [x0, y0, x1, y1]}
    weak: bool = False  # below where the query's confident matches end (search/cutoff.py)
    place: dict | None = None  # where it was taken: {"city", "region", "country", "lat", "lon"} (store/places.py)

    def to_dict(self) -> dict:
        """As _Result's, with `place` always there (null: no position known)."""
        return {**super().to_dict(), "place": self.place}


@dataclass
class WordHit(_Result):
    word: str
    score: float


@dataclass
class Tag(_Result):
    tag: str
    score: float


class Results(list):
    """A list of Hit, plus the query words left out (`ignored`: [Ignored(word, suggestion)]) and those searched,
    how many hits are confident (they come first; the rest are `weak`), and `corrected`: the query searched
    when a misspelt word was corrected ("dgo" -> "dog"), else None."""

    def __init__(self, hits: list[Hit], ignored: list[Ignored] | None = None, terms: list[str] | None = None,
                 corrected: str | None = None) -> None:
        super().__init__(hits)
        self.ignored = list(ignored or [])
        self.terms = list(terms or [])  # the content words searched for, after stopwords and unknown words
        self.corrected = corrected

    @property
    def confident(self) -> int:
        return sum(not h.weak for h in self)

    def to_dict(self) -> dict:
        return {"results": [h.to_dict() for h in self], "ignored": [i.to_dict() for i in self.ignored],
                "terms": self.terms, "confident": self.confident, "corrected": self.corrected}


@dataclass
class IndexReport:
    indexed: int
    skipped: int
    failed: int
    removed: int
    seconds: float
    duplicates: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    text: dict | None = None  # the OCR stage's counts (ingest/ocr_stage.py) when the collection reads text
    faces: dict | None = None  # the face stage's counts (ingest/face_stage.py) when the collection finds faces

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("indexed", "skipped", "failed", "removed", "seconds", "duplicates")}
        out = out if self.text is None else {**out, "text": self.text}
        return out if self.faces is None else {**out, "faces": self.faces}


@dataclass
class DuplicateGroup(_Result):
    """Photos that are near-duplicates of each other. kind "copies": copies of one picture, verified on
    their pixels; `keep` is the suggested one (most pixels, then the largest file), `why` says for each
    other path how it differs from it (same bytes, resized, re-encoded, cropped, edited), `score` is the
    group's weakest verified pair. kind "burst": distinct shots of one scene seconds apart, `seconds`
    from first to last, no keeper; `score` is the weakest feature similarity of two consecutive shots."""

    paths: list[str]
    score: float
    keep: str | None = None
    kind: str = "copies"
    why: dict[str, str] | None = None
    seconds: float | None = None
