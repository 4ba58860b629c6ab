"""Faces in a photo: where they are (a detector) and who they look like (a descriptor), as 128-d vectors
whose Euclidean distance is small for the same person.

The models are dlib's: its HOG frontal-face detector (inside dlib itself), the 5-point landmark model
that aligns each face, and its ResNet face descriptor (99.38% on LFW), both shipped as files inside the
`face_recognition_models` package (CC0), run by `dlib-bin`. Chosen by measurement (docs/people.md):
BlazeFace found no more of the labelled faces and needs TensorFlow; dlib's CNN detector is ten times slower.

The detector sees the photo scaled so that its long side is FACE_DETECT_SIDE pixels, so the time it takes
does not grow with the camera's resolution; landmarks and descriptors are taken on the decoded photo.
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

from pixseek.config import FACE_DECODE_SIDE, FACE_DETECT_SIDE, FACE_MIN_SIDE
from pixseek.errors import PixseekError

DIM = 128
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in the upright photo's pixels


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float  # the detector's confidence (HOG: SVM margin, about -0.5 to 3)


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
        self.detector = detector or HogDetector()
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
    """0..1 from the detector's margin and the face's size: a sharp, large, frontal face scores near 1."""
    return round(float(np.clip((score + 0.5) / 2.5, 0, 1) * min(1.0, side / 150)), 4)


def load_for_faces(source: str | Path | bytes) -> tuple[np.ndarray, float]:
    """Upright RGB pixels, a large JPEG decoded at a reduced scale that keeps FACE_DECODE_SIDE pixels on
    its short side, and the original's size over the decoded one."""
    from pixseek.encoders.images import _open

    im, (w, _) = _open(source, short_side=FACE_DECODE_SIDE)
    return np.asarray(im), w / im.size[0]


@functools.lru_cache(maxsize=1)
def local_encoder() -> FaceEncoder:
    """The encoder used in this process, loaded once (a server describes query photos again and again)."""
    return FaceEncoder()


def distances(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Euclidean distances of each row of `vectors` to `query` (the descriptor's own metric)."""
    if len(vectors) == 0:
        return np.zeros(0, np.float32)
    return np.sqrt(np.maximum(((vectors - query[None, :]) ** 2).sum(1), 0)).astype(np.float32)
