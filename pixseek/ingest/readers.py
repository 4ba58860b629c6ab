"""The read stage of the pipeline: files to decode -> Prepared items, in processes here or on Ray.

A Reader is the executor the pipeline is given; swapping one for another changes where decoding (and,
for Ray, embedding) happens and nothing else: ids, vectors and commits stay with the pipeline.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Protocol

from pixseek.ingest.decode import Prepared, Task, prepare
from pixseek.ingest.pool import DecoderPool


class Reader(Protocol):
    def read(self, todo: list[Task]) -> Iterable[Prepared]:
        """One Prepared per task, in any order; never raises for a bad file (it carries `error`)."""
        ...


class ProcessReader:
    """Decoding in `workers` child processes, at most `window` files ahead so memory stays bounded.
    The pool (ingest/pool.py) stops within seconds when the consumer stops, whatever the reason.

    One worker per core by default: they run at nice 19 (ingest/decode.py), so they take only the time
    the encoder leaves, and when decoding is the slower side (12-megapixel JPEGs: ~20 ms of CPU each,
    against ~7 ms for the encoder) every core decodes. Measured on 2 cores (docs/benchmarks.md): 12 MP
    JPEGs faster, 64 px photos not slower, than with one worker fewer."""

    def __init__(self, workers: int | None = None, window: int = 256) -> None:
        self.workers = workers if workers is not None else max(1, os.cpu_count() or 2)
        self.window = window

    def read(self, todo: list[Task]) -> Iterator[Prepared]:
        # a worker per half window of files at most: starting one (an interpreter) costs ~0.3 s
        workers = min(self.workers, max(1, len(todo) // max(1, self.window // 2)))
        if self.workers == 0 or (workers == 1 and len(todo) < self.window // 2):  # not worth a process
            yield from map(prepare, todo)
            return
        pool = DecoderPool(workers, self.window)
        try:
            yield from pool.run(todo)
        finally:
            pool.close()
