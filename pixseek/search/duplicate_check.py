"""Whether two photos show the same picture, not merely the same kind of thing: the check behind every
near-duplicate pair (search/duplicates.py proposes the pairs from the image features).

Each photo is compared small: its pixel thumbnail (long side SIDE), kept in the collection since it was
indexed (store/pixel_signatures.py), or read from its file (a JPEG decoded at a reduced DCT scale) where
none is kept. The second photo is
aligned onto the first as a crop of it, or the first onto the second: a scale search over the share of the
width it keeps (the height's share follows from the two aspect ratios) with a normalised template match
at each scale, so a resized, re-encoded, cropped or re-coloured copy lines up with its original. Then the
aligned pixels are compared after one gain and offset per colour channel (brightness and colour edits),
block by block: the pair's score is its worst block, so a metronome whose arm moved or two shots of one
street that differ in one corner score low although their pictures are alike overall. A score of 1 is
pixel for pixel the same picture; the threshold (duplicates.THRESHOLD) was measured on labelled real photos
(benchmarks/duplicates.py, docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pixseek.media.images import ImageError
from pixseek.media.pixel_thumbnail import pixel_thumbnail

KEEP = 0.75  # the smallest share of the width or height a crop may keep
STEPS = {4: 0.04, 2: 0.02, 1: 0.005}  # step of the scale search (a share of the width) on copies 4, 2 and 1
# times smaller than SIDE: the whole range on the smallest, then around the best scale found
SIGNATURE = 16  # side of the whole-frame signature that turns away most pairs before any alignment
SIGNATURE_MIN = 0.5  # its correlation below which two photos are not compared further
SAME_FRAME = 0.03  # aspect ratios this close are first compared frame to frame
GOOD_FRAME = 0.8  # a frame-to-frame score from which no crop is searched
ALIGNED_MIN = {4: 0.8, 2: 0.85}  # correlation of the best alignment on copies 4 and 2 times smaller below
# which two photos are not the same picture (planted copies measured: 0.88 and 0.92 and above; look-alike
# distinct photos: median 0.70 and 0.77)
GRID = 6  # blocks per side compared
BLUR = 1.0  # Gaussian sigma (pixels at SIDE) applied before comparing: resampling and JPEG noise fade
RANGE = 48.0  # a block's mean difference (of 255) that scores 0
CROPPED = 0.97  # a copy keeping less than this share of the other's area is cropped
EDITED_GAIN, EDITED_OFFSET = 0.04, 6.0  # gain away from 1 or offset (of 255) beyond these: edited


@dataclass
class Small:
    """A photo as compared: its pixels, long side SIDE (RGB, blurred, uint8 to keep many in memory), and its
    full size."""

    rgb: np.ndarray
    size: tuple[int, int]  # (width, height) of the photo itself
    signature: np.ndarray  # SIGNATURE x SIGNATURE grey of the whole frame, zero mean, unit length
    grey: dict[int, np.ndarray]  # its grey pixels at SIDE (1), halved (2) and quartered (4): the alignment search


@dataclass
class Match:
    """What two photos share: `score` 0 to 1 (1: the same pixels), and why they are alike."""

    score: float
    why: str  # "resized", "re-encoded", "cropped" or "edited" (brightness or colour)


def read_small(path: str | Path) -> Small | None:
    """The photo at `path` as compared, or None when it cannot be read (moved, damaged)."""
    try:
        rgb, size = pixel_thumbnail(path)
    except (ImageError, OSError):
        return None
    return small_from(rgb, size)


def small_from(thumbnail: np.ndarray, size: tuple[int, int]) -> Small:
    """A photo as compared, from its pixel thumbnail (media/pixel_thumbnail.py) and its full (width, height)."""
    rgb = cv2.GaussianBlur(np.asarray(thumbnail, np.float32), (0, 0), BLUR)
    grey = _grey(rgb)
    sig = cv2.resize(grey, (SIGNATURE, SIGNATURE), interpolation=cv2.INTER_AREA).ravel()
    sig = sig - sig.mean()
    half = cv2.resize(grey, (max(2, grey.shape[1] // 2), max(2, grey.shape[0] // 2)), interpolation=cv2.INTER_AREA)
    quarter = cv2.resize(half, (max(2, half.shape[1] // 2), max(2, half.shape[0] // 2)), interpolation=cv2.INTER_AREA)
    greys = {1: grey.round().astype(np.uint8), 2: half.round().astype(np.uint8), 4: quarter.round().astype(np.uint8)}
    return Small(rgb.round().astype(np.uint8), tuple(size), sig / max(float(np.linalg.norm(sig)), 1e-6), greys)


def compare(a: Small, b: Small) -> Match | None:
    """How closely `b` shows the picture `a` shows; None when their whole frames do not even correlate."""
    if float(a.signature @ b.signature) < SIGNATURE_MIN:
        return None
    best = None
    if abs(np.log((a.size[0] * b.size[1]) / (a.size[1] * b.size[0]))) < SAME_FRAME:
        best = _match(a, b, (0, 0, a.rgb.shape[1], a.rgb.shape[0]))
        if best.score >= GOOD_FRAME:
            return best
    tries = [(np.arange(1.0, KEEP - 1e-9, -STEPS[4]), a, b), (np.arange(1.0, KEEP - 1e-9, -STEPS[4]), b, a)]
    for shrink in (4, 2):  # each way round: is all of `inner` a part of `outer`?
        found = [(_search(outer, inner, scales, shrink), outer, inner) for scales, outer, inner in tries]
        if max(f[0][0] for f in found) < ALIGNED_MIN[shrink]:
            return best
        step = STEPS[shrink]
        tries = [(fx + np.arange(-step, step + 1e-9, STEPS[2 if shrink == 4 else 1]), outer, inner)
                 for (_, _, fx), outer, inner in found]
        if shrink == 2:
            tries = [max(zip(tries, found), key=lambda t: t[1][0][0])[0]]  # the better way round
    scales, outer, inner = tries[0]
    _, region, _ = _search(outer, inner, scales, 1)
    found = _match(outer, inner, region)
    return found if best is None or found.score > best.score else best


def _match(a: Small, b: Small, region: tuple[int, int, int, int]) -> Match:
    """`b` compared with the `region` (x, y, w, h) of `a` it shows."""
    x, y, w, h = region
    part = a.rgb[y:y + h, x:x + w].astype(np.float32)
    inner = cv2.resize(b.rgb.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    score, gain, offset = _blocks(part, inner)
    if w * h < CROPPED * a.rgb.shape[0] * a.rgb.shape[1]:
        why = "cropped"
    elif np.abs(gain - 1).max() > EDITED_GAIN or np.abs(offset).max() > EDITED_OFFSET:
        why = "edited"
    elif a.size != b.size:
        why = "resized"
    else:
        why = "re-encoded"
    return Match(score, why)


def _search(a: Small, b: Small, scales: np.ndarray, shrink: int) -> tuple[float, tuple[int, int, int, int], float]:
    """(match, region of `a` that all of `b` shows as x, y, w, h at full SIDE, the width share it keeps) of
    the best of `scales` (shares of `a`'s width), matched on copies `shrink` (1, 2 or 4) times smaller."""
    ga, gb = a.grey[shrink], b.grey[shrink]
    ha, wa = ga.shape
    aspect = (a.size[0] / a.size[1]) / (b.size[0] / b.size[1])  # height share = width share * aspect
    full_h, full_w = a.rgb.shape[:2]
    best = (-2.0, (0, 0, full_w, full_h), 1.0)
    for fx in scales:
        fy = fx * aspect
        if not (KEEP - STEPS[4] <= fy <= 1 + STEPS[2] and KEEP - STEPS[4] <= fx <= 1):
            continue
        w, h = min(wa, max(2, round(fx * wa))), min(ha, max(2, round(fy * ha)))
        template = cv2.resize(gb, (w, h), interpolation=cv2.INTER_AREA)
        found = cv2.matchTemplate(ga, template, cv2.TM_CCOEFF_NORMED)
        _, value, _, (x, y) = cv2.minMaxLoc(found)
        if value > best[0] and np.isfinite(value):
            fw, fh = min(full_w, round(fx * full_w)), min(full_h, round(min(fy, 1.0) * full_h))
            best = (float(value), (min(x * shrink, full_w - fw), min(y * shrink, full_h - fh), fw, fh), float(fx))
    return best


def _grey(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb @ np.array([0.299, 0.587, 0.114], np.float32))


def _blocks(a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(score of the worst block, gain and offset per channel) of `b` against `a`, both (h, w, 3), after
    fitting b ~ gain * a + offset per channel. On (3, pixels) planes: numpy's reductions over a 3-wide last
    axis cost more than the rest of the check."""
    x, y = _planes(a), _planes(b)
    if x.sum() > y.sum():  # fit the brighter from the darker: what a brightening clipped stays clipped
        a, b, x, y = b, a, y, x
    brightest = np.maximum(x.max(axis=0), y.max(axis=0))
    weight = (brightest < 250).astype(np.float32)  # a brightened copy saturates: fit on the rest
    if weight.sum() < 0.3 * len(weight):
        weight[:] = 1.0
    weight /= weight.sum()
    mx, my = x @ weight, y @ weight
    dx = x - mx[:, None]
    var = (dx * dx) @ weight
    gain = np.where(var > 1e-6, ((dx * (y - my[:, None])) @ weight) / np.maximum(var, 1e-6), 1.0)
    gain = np.clip(gain, 0.5, 2.0).astype(np.float32)
    offset = (my - gain * mx).astype(np.float32)
    fitted = cv2.transform(a, np.concatenate([np.diag(gain), offset[:, None]], axis=1))  # gain * a + offset
    diff = cv2.absdiff(np.clip(fitted, 0, 255, out=fitted), b)
    blocks = cv2.resize(diff, (min(GRID, diff.shape[1]), min(GRID, diff.shape[0])), interpolation=cv2.INTER_AREA)
    worst = float(blocks.reshape(-1, 3).sum(axis=1).max()) / 3  # the largest mean difference of a block
    return max(0.0, 1.0 - worst / RANGE), gain, offset


def _planes(rgb: np.ndarray) -> np.ndarray:
    """(3, h * w) float32 colour planes, contiguous."""
    return np.ascontiguousarray(np.moveaxis(rgb, 2, 0), np.float32).reshape(3, -1)
