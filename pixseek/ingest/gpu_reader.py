"""The read stage of `pixseek index --device cuda`: JPEGs decoded on the GPU, everything else on the CPU.

Threads here read each JPEG once, hash it (the catalog's content hash, as the CPU workers compute it)
and check its header with Pillow (size limits, colour mode, EXIF orientation); batches are then decoded
by nvJPEG and cropped on the GPU (media/gpu_jpeg.py), and come back as the same Prepared items the
CPU workers make. A file the GPU path does not take (another format, CMYK, a header Pillow refuses, a
truncated file, one nvJPEG fails on) goes to the `fallback` Reader, the ordinary decoding processes,
which decode it or record why not: the catalog ends up as a CPU run would leave it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from pixseek.config import GPU_DECODE_BYTES, GPU_READ_THREADS, MAX_FILE_BYTES
from pixseek.ingest.decode import Prepared, Task
from pixseek.ingest.readers import Reader
from pixseek.media.formats import content_hash
from pixseek.media.images import MAX_PIXELS, check_decoded_size
from pixseek.regular_files import read_regular

JPEG_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".jfif"})


@dataclass
class _Header:
    task: Task
    data: bytes
    hash: str
    width: int  # upright, as the catalog records it
    height: int
    orientation: int


class GpuJpegReader:
    """A Reader: JPEGs through `decode` (default nvJPEG) on `device`, the rest through `fallback`."""

    def __init__(self, fallback: Reader, size: int, device: str = "cuda", batch_size: int = 256,
                 decode=None, threads: int | None = None, budget: int | None = None) -> None:
        """decode: files -> (3, h, w) uint8 tensors or None (media/gpu_jpeg.py: Decoder); another
        decoder stands in for nvJPEG where there is no GPU (the tests use one)."""
        import torch

        from pixseek.media import gpu_jpeg

        self.fallback, self.size, self.batch_size = fallback, size, batch_size
        self.device = torch.device(device)
        self.decode = decode or gpu_jpeg.nvjpeg_decode
        self.threads = threads or GPU_READ_THREADS
        self.budget = budget or GPU_DECODE_BYTES  # decoded bytes held on the GPU at once

    def read(self, todo: list[Task]) -> Iterator[Prepared]:
        jpegs = [t for t in todo if Path(t[0]).suffix.lower() in JPEG_SUFFIXES]
        rest = [t for t in todo if Path(t[0]).suffix.lower() not in JPEG_SUFFIXES]
        retry: list[Task] = []
        slices = [jpegs[i:i + self.batch_size] for i in range(0, len(jpegs), self.batch_size)]
        with ThreadPoolExecutor(self.threads, thread_name_prefix="gpu-read") as pool:
            ahead = pool.map(_header, slices[0]) if slices else iter(())
            for k in range(len(slices)):
                loaded = list(ahead)
                if k + 1 < len(slices):  # the next slice is read while this one decodes
                    ahead = pool.map(_header, slices[k + 1])
                good = [h for h in loaded if isinstance(h, _Header)]
                retry += [t for t in loaded if not isinstance(t, _Header)]
                for part in self._parts(good):
                    yield from self._decode(part, retry)
        if rest or retry:
            yield from self.fallback.read(rest + retry)

    def _parts(self, headers: list[_Header]) -> Iterator[list[_Header]]:
        """Runs of headers whose decoded pixels fit the GPU budget together."""
        part, held = [], 0
        for h in headers:
            need = h.width * h.height * 3
            if part and held + need > self.budget:
                yield part
                part, held = [], 0
            part.append(h)
            held += need
        if part:
            yield part

    def _decode(self, part: list[_Header], retry: list[Task]) -> Iterator[Prepared]:
        import torch

        from pixseek.media.gpu_jpeg import square_crop, upright

        crops, kept = [], []
        for h, img in zip(part, self.decode([h.data for h in part], self.device)):
            turned = h.orientation in (5, 6, 7, 8)
            if img is None or tuple(img.shape[1:]) != ((h.width, h.height) if turned else (h.height, h.width)):
                retry.append(h.task)  # refused, or not the size the header promised: the CPU decides
                continue
            crops.append(square_crop(upright(img, h.orientation), self.size))
            kept.append(h)
        if not kept:
            return
        pixels = torch.stack(crops).cpu().numpy()
        for h, px in zip(kept, pixels):
            path, size, mtime_ns, _ = h.task
            yield Prepared(path, size, mtime_ns, h.hash, px, h.width, h.height)


def _header(task: Task) -> _Header | Task:
    """Read, hash and check one JPEG; the task itself when the CPU workers should take it instead."""
    path, size, _, _ = task
    if size == 0 or size > MAX_FILE_BYTES:
        return task
    try:
        data = read_regular(path)
        if not data.startswith(b"\xff\xd8\xff") or not data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9"):
            return task  # not a JPEG after all, or truncated: Pillow's verdict, not nvJPEG's guess
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            if im.format != "JPEG" or im.mode not in ("RGB", "L") or not 0 < w * h <= MAX_PIXELS:
                return task
            check_decoded_size(im)
            orientation = int(im.getexif().get(0x0112, 1) or 1)
    except Exception:  # whatever Pillow or its EXIF parser chokes on is the CPU workers' to judge
        return task
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    return _Header(task, data, content_hash(data), w, h, orientation if 1 <= orientation <= 8 else 1)
