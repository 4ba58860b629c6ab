"""The read stage of the pipeline: files to decode -> Prepared items, in processes here or on Ray.

A Reader is the executor the pipeline is given; swapping one for another changes where decoding (and,
for Ray, embedding) happens and nothing else: ids, vectors and commits stay with the pipeline.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
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
            yield from self._read_here(todo)
            return
        pool = DecoderPool(workers, self.window)
        try:
            yield from pool.run(todo)
        finally:
            pool.close()

    def _read_here(self, todo: list[Task]) -> Iterator[Prepared]:
        """Fewer files than half a window: decoded in this process, in threads (decoding and hashing release
        the GIL), one per worker it would have started. A hundred 12 MP photos, 13 ms each, then decode on
        both cores with no interpreter to start (measured: faster than two processes or one thread)."""
        if self.workers < 2 or len(todo) < 2:
            yield from map(prepare, todo)
            return
        threads = ThreadPoolExecutor(self.workers, thread_name_prefix="decode")
        try:
            yield from threads.map(prepare, todo)
        finally:  # stopped early (Ctrl-C, an error downstream): the files not started are not decoded
            threads.shutdown(wait=True, cancel_futures=True)
