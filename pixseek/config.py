"""Every setting pixseek reads from the environment, and the defaults more than one module needs.

Variables are read when a function here is called, never at import, so a test or a long-running
server that changes one sees the change. README.md lists the same variables (a test keeps them in step).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ENCODER = "efficientnet-lite0"  # float: what new collections get where int8 is not chosen (below)
INT8_ENCODER = "efficientnet-lite0-int8"  # what they get on a CPU with VNNI (encoders/device.py: new_collection_encoder)
DEFAULT_WORDS = "glove-6b-50d"
DEFAULT_MAX_MEMORY = 2 * 1024**3  # the budget `--index auto` plans for, per collection (--max-memory)
MAX_DECODED_BYTES = 1024 * 2**20  # an image whose decoded pixels (and RGB conversion) need more is refused unread
MAX_FILE_BYTES = 512 * 2**20  # a photo file larger than this is refused unread (regular_files.py)
MAX_K = 10_000  # the most results one search, similar or tag call returns (-k)
HTTP_PAGE_MAX = 1000  # the most results one HTTP request returns (paging with offset reaches the others)
# the web page's uploaded query images, kept in the server's memory so a URL can name one (most recent kept)
WEB_UPLOAD_COUNT = 64
WEB_UPLOAD_BYTES = 256 * 2**20
WEB_UPLOAD_SECONDS = 3600  # after its last use
WEB_PREVIEW_SIZE = 1600  # the detail view's copy of an original, at most this many pixels wide and high
# faces (encoders/faces.py, search/people.py): measured on faces/ in docs/people.md
FACE_DETECTOR = "blazeface"  # blazeface (MediaPipe's full-range BlazeFace on LiteRT) or hog (dlib's, slower, finds fewer)
FACE_DETECT_SIDE = 640  # the hog detector sees the photo scaled to this long side
FACE_DECODE_SIDE = 1024  # a large JPEG is decoded at a reduced scale keeping this short side for landmarks
FACE_MIN_SIDE = 40  # faces smaller than this (pixels, short side, in the photo) are skipped and counted
FACE_SAME_PERSON = 0.56  # descriptor distance under which near faces pull a face into a person (clustering)
FACE_QUERY_DISTANCE = 0.6  # faces farther than this from a query face are not that person (dlib's own threshold)


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    meaning: str


VARIABLES = (
    Variable("PIXSEEK_DB", "$XDG_DATA_HOME/pixseek/default", "the collection used when --db is not given"),
    Variable("PIXSEEK_CACHE", "$XDG_CACHE_HOME/pixseek", "exported models and derived tables (safe to delete)"),
    Variable("PIXSEEK_TOKEN", "", "access token `pixseek serve` requires when --token is not given"),
    Variable("PIXSEEK_ENCODER", "", "the image encoder of a new collection when --encoder is not given (default: "
             "efficientnet-lite0-int8 on a CPU with VNNI, efficientnet-lite0 elsewhere and for a GPU)"),
    Variable("PIXSEEK_THREADS", "0", "threads per encoder session (0: one per core)"),
    Variable("PIXSEEK_RAM_MB", "2048", "vector files up to this size are searched from a float32 copy in RAM"),
    Variable("PIXSEEK_WORKER_NICE", "19", "niceness of the decoding processes of `pixseek index`"),
    Variable("PIXSEEK_MAP_INDEXES", "", "1: memory-map large index codes when loading, 0: read them whole "
             "(default: mapped, except in `pixseek serve`)"),
    Variable("PIXSEEK_WORDNET", "", "a WordNet 3.0 dict folder, before the system's (wordnet-base) and NLTK's"),
    Variable("PIXSEEK_MILVUS_TOKEN", "", "token for a Milvus server (milvus://...)"),
    Variable("PIXSEEK_RAY_CRASH_ONCE", "", "tests only: a file whose creation makes one Ray worker crash"),
)
_KNOWN = {v.name: v for v in VARIABLES}


def env(name: str) -> str:
    """The variable's value, or its default; only the variables in VARIABLES may be asked for."""
    var = _KNOWN[name]
    value = os.environ.get(name, "")
    return value if value != "" else ("" if var.default.startswith("$") else var.default)


def env_int(name: str) -> int:
    from pixseek.errors import PixseekError

    text = env(name)
    try:
        return int(text)
    except ValueError:
        raise PixseekError(f"${name} must be a whole number, not {text!r}") from None


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def default_db() -> Path:
    """The collection folder used when neither --db nor PIXSEEK_DB is given."""
    given = env("PIXSEEK_DB")
    return Path(given) if given else data_home() / "pixseek" / "default"


def cache_dir() -> Path:
    """Exported models and derived tables; safe to delete, rebuilt on demand."""
    given = env("PIXSEEK_CACHE")
    base = Path(given) if given else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pixseek"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file there, or no permission: the user's setting, said in one line
        from pixseek.errors import PixseekError

        name = "$PIXSEEK_CACHE" if given else "the cache folder"
        raise PixseekError(f"{name} {base} cannot be used as a folder: {exc.strerror or exc}") from None
    return base


_LONG_RUNNING = False  # set by `pixseek serve` (interfaces/http.py) for the process


def long_running() -> None:
    """This process serves many queries: read index codes whole (steady latency) rather than map them."""
    global _LONG_RUNNING
    _LONG_RUNNING = True


def map_index_codes() -> bool:
    """Whether index codes (the 8-bit copy, HNSW's vectors) are memory-mapped when loaded: a one-shot CLI
    search then opens a million photos' indexes in milliseconds instead of 1.5 s; a server reads them whole,
    so that no query pays page faults on pages the kernel has dropped (docs/million.md)."""
    given = env("PIXSEEK_MAP_INDEXES")
    return given not in ("0", "false", "no") if given else not _LONG_RUNNING


def encoder_threads() -> int:
    return env_int("PIXSEEK_THREADS") or (os.cpu_count() or 1)


def ram_limit_bytes() -> int:
    return env_int("PIXSEEK_RAM_MB") * 2**20


def wordnet_candidates() -> list[str]:
    """Folders that may hold WordNet's dict files, in the order they are tried."""
    nltk = [str(Path(p) / "corpora" / "wordnet") for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    return [env("PIXSEEK_WORDNET"), *nltk]


def child_environment(import_root: str) -> dict[str, str]:
    """The environment for a pixseek helper process (a decoding worker): this one's, with `import_root`
    first on PYTHONPATH so that the child imports this very pixseek."""
    path = os.pathsep.join(filter(None, [import_root, os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path)


# `pixseek index --device`: where the image encoder runs (encoders/device.py) and how many photos one
# batch of the pipeline holds there; the GPU path's JPEG reading threads and decoded bytes held at once.
DEFAULT_DEVICE = "cpu"
DEVICE_BATCH_SIZES = {"cpu": 64, "cuda": 256}
GPU_READ_THREADS = 8
GPU_DECODE_BYTES = 2 * 2**30

# `pixseek serve`: what one client may hold (interfaces/http_guard.py). A request's line and headers must
# arrive within SERVE_HEADER_SECONDS of the connection opening (or of the previous answer), an upload, or a
# client reading an answer, may pause at most SERVE_BODY_SECONDS, and an idle keep-alive connection is
# closed after SERVE_IDLE_SECONDS.
# Past SERVE_MAX_CONNECTIONS open connections (fewer when the open-files limit is lower) the connection
# idle longest is closed to make room, so slow or silent clients never lock others out.
SERVE_HEADER_SECONDS = 10.0
SERVE_BODY_SECONDS = 30.0
SERVE_IDLE_SECONDS = 5
SERVE_MAX_CONNECTIONS = 1000
SERVE_BACKLOG = 128  # connections waiting to be accepted (and accepted in one turn of the event loop)
SERVE_MAX_HEADER_BYTES = 64 * 1024  # a request line and headers (a 4,096-character path, percent-encoded, fits)
SERVE_SPARE_FILES = 128  # open files kept for the collection, models and logs below the process's limit
# Taught concepts (learn/teach.py): how many collection photos stand for "not this" (the background the
# model is whitened against), its ridge, the share of the negative mean a user's counter-examples take,
# the background z-score a confident match must clear, the z-score a new photo of a one-example concept
# is expected at (fitted on dev concepts: benchmarks/teach.py), and the score from which a photo matches.
TEACH_BACKGROUND = 1000
TEACH_L2 = 10.0  # shrinkage of the background's covariance, in units of its mean variance per dimension (docs/teach.md)
TEACH_COUNTER_SHARE = 0.5
TEACH_TAIL_Z = 2.576  # the background's upper tail a confident match must clear (a normal's 99.5th percentile)
TEACH_MIDPOINT = 0.35  # where 0.5 falls between that tail (0) and a left-out example's score (1)
TEACH_ONE_EXAMPLE_Z = 4.0
TEACH_CONFIDENT = 0.5
TEACH_SCORES_MAX = 200_000  # up to this many photos a taught word's scores over the collection are kept in memory
