"""The read stage of the pipeline: files to decode -> Prepared items, in processes here or on Ray.

A Reader is the executor the pipeline is given; swapping one for another changes where decoding (and,
for Ray, embedding) happens and nothing else: ids, vectors and commits stay with the pipeline.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from collections.abc import Iterable
from typing import Protocol

from pixseek.ingest.decode import Prepared, Task, init_worker, prepare


class Reader(Protocol):
    def read(self, todo: list[Task]) -> Iterable[Prepared]:
        """One Prepared per task, in any order; never raises for a bad file (it carries `error`)."""
        ...


class ProcessReader:
    """Decoding in `workers` spawned processes, at most `window` files ahead so memory stays bounded."""

    def __init__(self, workers: int | None = None, window: int = 256) -> None:
        self.workers = workers if workers is not None else max(1, (os.cpu_count() or 2) - 1)
        self.window = window

    def read(self, todo: list[Task]) -> Iterable[Prepared]:
        if self.workers == 0 or (self.workers == 1 and len(todo) < self.window // 2):  # not worth a process
            yield from map(prepare, todo)
            return
        window = threading.BoundedSemaphore(self.window)
        stop = threading.Event()

        def feed():  # runs in the pool's task thread; must never block forever, or the pool cannot shut down
            for task in todo:
                while not window.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                yield task

        ctx = mp.get_context("spawn")
        with ctx.Pool(self.workers, initializer=init_worker) as pool:
            try:
                for item in pool.imap_unordered(prepare, feed(), chunksize=4):
                    window.release()
                    yield item
            finally:
                stop.set()
