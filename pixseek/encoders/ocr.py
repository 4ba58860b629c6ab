"""Text in photos: PP-OCR detection -> gate -> recognition, through the ONNX files inside rapidocr's wheel.

Detection runs on the photo at most MAX_SIDE pixels on its long side (never enlarged: text too small to
read at the photo's own size is not worth a slow, enlarged pass). The gate is a cheaper detection pass at
GATE_SIDE on larger photos: where its text-probability map has no text-sized region, the photo has no
text and neither the full detection nor recognition runs. Small photos go straight to detection, whose
empty result is their gate. Every model path is given explicitly, so rapidocr never tries to download one.
Boxes are (x0, y0, x1, y1) in the photo's own upright pixels.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from pixseek.errors import PixseekError

MAX_SIDE = 960  # detection's working size (long side); smaller photos are read at their own size
GATE_SIDE = 320  # the gate's working size on photos larger than this
GATE_PROB = 0.3  # a map pixel this likely to be text counts (rapidocr's own binarisation threshold)
GATE_MIN_PIXELS = 12  # text-likely map pixels a photo needs to pass the gate (one small word is ~50)
MIN_CONFIDENCE = 0.5  # recognised lines below this are dropped
MODELS = {"det": "PP-OCRv6_det_small.onnx", "rec": "PP-OCRv6_rec_small.onnx", "cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx"}


@dataclass(frozen=True)
class TextLine:
    text: str
    box: tuple[int, int, int, int]
    confidence: float

    def to_dict(self) -> dict:
        return {"text": self.text, "box": list(self.box), "confidence": round(self.confidence, 4)}


@dataclass
class Reading:
    """What one photo says; `gated` is True when the gate found no text, so recognition never ran."""

    lines: list[TextLine] = field(default_factory=list)
    gated: bool = False


class TextReader(Protocol):
    """Anything that reads text from an upright RGB uint8 array (H, W, 3)."""

    def read(self, rgb: np.ndarray) -> Reading: ...


class PPOCRReader:
    """PP-OCR (rapidocr 3.x) on ONNX Runtime; models load on first use behind a lock.
    threads: ONNX Runtime threads per model (1 in each of several worker processes is best on few cores);
    gate=False sends every photo through full-size detection (for measuring what the gate saves)."""

    def __init__(self, threads: int = 1, gate: bool = True) -> None:
        self.threads, self.gate = threads, gate
        self._engine = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._engine is None:
                self._engine = _engine(self.threads)
        return self._engine

    def read(self, rgb: np.ndarray) -> Reading:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise PixseekError(f"OCR reads RGB uint8 pixels, not an array of shape {rgb.shape} {rgb.dtype}")
        engine = self._load()
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        h, w = bgr.shape[:2]
        if self.gate and max(h, w) > GATE_SIDE and not _gate_passes(engine.text_det, bgr):
            return Reading([], gated=True)
        scale = min(1.0, MAX_SIDE / max(h, w))
        small = bgr if scale == 1.0 else _resize(bgr, scale)
        out = engine(small)
        if out.boxes is None or out.txts is None or not len(out.txts):
            return Reading([], gated=False)
        lines = []
        for quad, text, conf in zip(out.boxes, out.txts, out.scores):
            text = " ".join(str(text).split())
            if not text or conf < MIN_CONFIDENCE:
                continue
            q = np.asarray(quad, np.float64) / scale
            box = (max(0, int(q[:, 0].min())), max(0, int(q[:, 1].min())),
                   min(w, int(np.ceil(q[:, 0].max()))), min(h, int(np.ceil(q[:, 1].max()))))
            lines.append(TextLine(text, box, float(conf)))
        return Reading(lines)

    def read_file(self, source: str | Path | bytes) -> Reading:
        """Decode a photo safely (encoders/images.py: limits, EXIF orientation, odd modes) and read it.
        Raises ImageError for a file that is not a usable image."""
        return self.read(load_upright(source))


def load_upright(source: str | Path | bytes) -> np.ndarray:
    """The photo as upright RGB pixels; a large JPEG decodes at a reduced scale still >= MAX_SIDE."""
    from pixseek.encoders.images import _open

    im, _ = _open(source, draft=MAX_SIDE // 2)
    return np.asarray(im)


def _gate_passes(det, bgr: np.ndarray) -> bool:
    """One detection-network pass at GATE_SIDE: True if any text-sized region looks like text."""
    h, w = bgr.shape[:2]
    scale = GATE_SIDE / max(h, w)
    nh, nw = max(32, int(round(h * scale / 32)) * 32), max(32, int(round(w * scale / 32)) * 32)
    small = _cv2().resize(bgr, (nw, nh), interpolation=_cv2().INTER_AREA)
    x = ((small.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
    prob = np.asarray(det.session(x))[0, 0]
    return int((prob > GATE_PROB).sum()) >= GATE_MIN_PIXELS


def _resize(bgr: np.ndarray, scale: float) -> np.ndarray:
    h, w = bgr.shape[:2]
    return _cv2().resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=_cv2().INTER_AREA)


def _cv2():
    import cv2

    return cv2


def _engine(threads: int):
    """rapidocr's pipeline with every model path given (no download is ever attempted) and quiet logs."""
    try:
        import rapidocr
        from rapidocr import RapidOCR
    except ImportError:
        raise PixseekError("reading text in photos needs rapidocr: pip install 'pixseek[ocr]'") from None
    root = Path(rapidocr.__file__).parent / "models"
    paths = {k: root / name for k, name in MODELS.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise PixseekError(f"rapidocr's packaged models are missing ({', '.join(missing)}): reinstall rapidocr 3.x")
    ort = "EngineConfig.onnxruntime."
    engine = RapidOCR(params={
        "Global.log_level": "error", "Global.max_side_len": MAX_SIDE, "Global.min_side_len": 32,
        "Det.model_path": str(paths["det"]), "Rec.model_path": str(paths["rec"]), "Cls.model_path": str(paths["cls"]),
        "Det.limit_type": "max", "Det.limit_side_len": MAX_SIDE,
        ort + "intra_op_num_threads": int(threads), ort + "inter_op_num_threads": 1,
    })
    engine._load_det_model()  # the gate calls the detection network directly
    return engine
