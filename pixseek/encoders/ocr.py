"""Text in photos: PP-OCR detection -> gate -> recognition, through the ONNX files inside rapidocr's wheel.

Detection runs on the photo at its own size up to MAX_SIDE pixels on its long side (rapidocr's own
limit), its short side rounded up to the network's multiple of 32, never down: rounded to the nearest,
a 1280x720 street photo was detected squashed to 1280x704 and lost words rapidocr's direct call reads
(benchmarks/ocr_scene.py, docs/ocr.md). It is never enlarged further: rapidocr's own 736 px short side
read false letters in text-free Flickr photos. Street text is small: at 960 px a 1280x720 photo's words
lost half of what the model reads at the photo's size. The gate, before recognition (the costly part): a
detected region counts as text only if it is shaped like a line of text, not a blob; on natural photos
the detector's false alarms are single regions covering half the photo or more, squarish (measured on
Flickr8k: benchmarks/ocr.py). Photos larger than GATE_SIDE are first detected at half their working size
(at least GATE_SIDE), a quarter of the work, with lower thresholds above GATE_SIDE (faint regions count:
it only asks whether text may be there), and go on to full-size detection only if a text-shaped region is
there: at a fixed 320 px, 1280x720 street photos lost most of their words to this first look.
A photo with no text-shaped region is `gated`: no recognition runs. Every model path is given explicitly,
so rapidocr never tries to download one. Boxes are (x0, y0, x1, y1) in the photo's own upright pixels.
"""

from __future__ import annotations

import copy
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from pixseek.errors import PixseekError

MAX_SIDE = 2000  # the photo's working size (long side); smaller photos are read at their own size
DET_MULTIPLE = 32  # the detection network takes sides that are multiples of this
GATE_SIDE = 320  # the gate's smallest working size; photos up to this size are not looked at twice
GATE_SHARE = 0.5  # the gate's first look, as a share of the working size (long side)
FIRST_LOOK_THRESHOLDS = (0.15, 0.2)  # pixel and region thresholds of a first look above GATE_SIDE (rapidocr: 0.3, 0.5)
LINE_SHARE = 0.4  # a region whose short side is above this share of the photo's short side ...
LINE_ASPECT = 2.5  # ... is text only if it is at least this many times longer than high
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
        self._gate_look = None  # the detector at the look's own size (same network)
        self._first_look = None  # the same with the first look's lenient thresholds
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._engine is None:
                self._engine = _engine(self.threads)
                self._gate_look = _first_look(self._engine.text_det, None)
                self._first_look = _first_look(self._engine.text_det, FIRST_LOOK_THRESHOLDS)
        return self._engine

    def read(self, rgb: np.ndarray) -> Reading:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise PixseekError(f"OCR reads RGB uint8 pixels, not an array of shape {rgb.shape} {rgb.dtype}")
        engine = self._load()
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        h, w = bgr.shape[:2]
        scale = min(1.0, MAX_SIDE / max(h, w))
        if self.gate and max(h, w) > GATE_SIDE:
            side = max(GATE_SIDE, GATE_SHARE * scale * max(h, w))
            low = _resize(bgr, side / max(h, w))
            found = (self._first_look if side > GATE_SIDE else self._gate_look)(low)
            if found.boxes is None or not any(_line_shaped(q, low.shape[:2]) for q in found.boxes):
                return Reading([], gated=True)
        small = bgr if scale == 1.0 else _resize(bgr, scale)
        out = _read(engine, small, self.gate)
        if out is None:
            return Reading([], gated=self.gate)
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
        """Decode a photo safely (media/images.py: limits, EXIF orientation, odd modes) and read it.
        Raises ImageError for a file that is not a usable image."""
        return self.read(load_upright(source))


def load_upright(source: str | Path | bytes) -> np.ndarray:
    """The photo as upright RGB pixels; a large JPEG decodes at a reduced scale still >= MAX_SIDE."""
    from pixseek.media.images import _open

    im, _ = _open(source, draft=MAX_SIDE // 2)
    return np.asarray(im)


def _read(engine, bgr: np.ndarray, gate: bool):
    """rapidocr's own steps (RapidOCR.__call__), with the gate between detection and recognition;
    None where nothing (text-shaped) was found."""
    from rapidocr.main import RapidOCRError

    img, record = engine.preprocess_img(bgr)
    try:
        crops, det = _detect_and_crop(engine, img, record)
        if gate:
            keep = [i for i, q in enumerate(det.boxes) if _line_shaped(q, img.shape[:2])]
            if not keep:
                return None
            det.boxes, det.scores, crops = det.boxes[keep], [det.scores[i] for i in keep], [crops[i] for i in keep]
        turned, cls = engine.cls_and_rotate(crops)
        rec = engine.recognize_txt(turned)
    except RapidOCRError:  # what rapidocr raises for "nothing detected / recognised"
        return None
    out = engine.build_final_output(bgr, det, cls, rec, crops, record)
    return out if getattr(out, "txts", None) else None


def _detect_and_crop(engine, img: np.ndarray, record: dict):
    """rapidocr's detect_and_crop, with a detector (a copy: the same network) that keeps the photo's short
    side, rounded up to DET_MULTIPLE, where rapidocr's `max` limit rounds it to the nearest (720 -> 704)."""
    from rapidocr.main import RapidOCRError, apply_vertical_padding

    detector = copy.copy(engine.text_det)
    detector.limit_type = "min"
    detector.limit_side_len = DET_MULTIPLE * math.ceil(min(img.shape[:2]) / DET_MULTIPLE)
    if engine.cfg.Global.use_vertical_padding:
        img, record = apply_vertical_padding(img, record, engine.width_height_ratio, engine.min_height)
    else:
        record["padding_1"] = {"top": 0, "left": 0}
    det = detector(img)
    if det.boxes is None:
        raise RapidOCRError("The text detection result is empty")
    return engine.crop_text_regions(img, det.boxes), det


def _line_shaped(quad: np.ndarray, shape: tuple[int, int]) -> bool:
    """A detected quadrilateral that can be a line of text: not a blob covering much of the photo."""
    q = np.asarray(quad, np.float64)
    side_a, side_b = np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[3] - q[0])
    short, long = min(side_a, side_b), max(side_a, side_b)
    return short <= LINE_SHARE * min(shape) or long >= LINE_ASPECT * max(short, 1.0)


def _first_look(detector, thresholds: tuple[float, float] | None):
    """A copy of rapidocr's detector (the same ONNX session) for the gate's first look: at the small copy's
    own size (each side rounded to the nearest DET_MULTIPLE, as rapidocr does), and with `thresholds`
    (pixel, region) when given: the first look at half size of a large photo only asks whether text may be there, and small words
    are faint at half size."""
    first = copy.copy(detector)
    first.limit_type, first.limit_side_len = "max", MAX_SIDE
    if thresholds is not None:
        first.postprocess_op = copy.copy(detector.postprocess_op)
        first.postprocess_op.thresh, first.postprocess_op.box_thresh = thresholds
    return first


def _resize(bgr: np.ndarray, scale: float) -> np.ndarray:
    h, w = bgr.shape[:2]
    return _cv2().resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=_cv2().INTER_AREA)


def _cv2():
    import cv2

    return cv2


def model_paths() -> dict[str, Path]:
    """The ONNX files inside rapidocr's wheel, by role; a one-line PixseekError when rapidocr or a file is
    missing (checked before worker processes start, so the user sees it once, not from each worker)."""
    try:
        import rapidocr
    except ImportError:
        raise PixseekError("reading text in photos needs rapidocr: pip install 'pixseek[ocr]'") from None
    root = Path(rapidocr.__file__).parent / "models"
    paths = {k: root / name for k, name in MODELS.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise PixseekError(f"rapidocr's packaged models are missing ({', '.join(missing)}): reinstall rapidocr 3.x")
    return paths


def _engine(threads: int):
    """rapidocr's pipeline with every model path given (no download is ever attempted) and quiet logs."""
    paths = model_paths()
    from rapidocr import RapidOCR
    ort = "EngineConfig.onnxruntime."
    engine = RapidOCR(params={
        "Global.log_level": "error", "Global.max_side_len": MAX_SIDE, "Global.min_side_len": 32,
        "Det.model_path": str(paths["det"]), "Rec.model_path": str(paths["rec"]), "Cls.model_path": str(paths["cls"]),
        "Det.limit_type": "max", "Det.limit_side_len": MAX_SIDE,
        ort + "intra_op_num_threads": int(threads), ort + "inter_op_num_threads": 1,
    })
    engine._load_det_model()  # the gate calls the detection network directly
    return engine
