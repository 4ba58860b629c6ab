"""The read stage on a Ray cluster (`pixseek index --ray [ADDRESS]`): decode and embed there.

Each Ray actor loads the encoder once and turns a chunk of files into (hash, features, probs, width,
height, error) per file. The driver keeps everything that decides ids and commits: it yields the chunks'
results in the order the files were scanned, and the pipeline writes and commits them exactly
as in the single-process run, so the catalog and vectors come out identical (the encoder gives the
same vector for an image whatever batch it is in).

Failure handling: a chunk is owned by one actor at a time. If the actor dies (node lost, OOM, crash)
the chunk is resubmitted to a fresh actor; a chunk whose actors die `max_attempts` times comes back as
failed files with the reason, so they are retried on the next run. A chunk's results are yielded once,
by chunk number, so no file is ever lost or counted twice.

Every node must see the images at the same paths (a shared or replicated filesystem): actors read
the files themselves so only vectors cross the network.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from pixseek.config import DEFAULT_ENCODER, env
from pixseek.errors import PixseekError
from pixseek.ingest.decode import Prepared, Task


@dataclass
class RayOptions:
    """address: None/"" or "local" starts Ray on this machine; else a cluster address ("auto", "ray://h:10001").
    actors: encoder replicas (default: one per CPU in the cluster). chunk: files per task.
    crash_once: fault injection for tests; the first actor to see this file missing creates it and exits."""

    address: str | None = None
    encoder_spec: str = DEFAULT_ENCODER
    actors: int | None = None
    chunk: int = 64
    max_attempts: int = 3
    crash_once: str | None = field(default_factory=lambda: env("PIXSEEK_RAY_CRASH_ONCE") or None)


class _Worker:
    """Body of the Ray actor: one encoder, reused for every chunk."""

    def __init__(self, encoder_spec: str, crash_once: str | None = None) -> None:
        from pixseek.encoders.registry import load_image_encoder

        self.encoder = load_image_encoder(encoder_spec)
        self.crash_once = crash_once

    def run(self, tasks: list[Task]) -> list[tuple]:
        from pixseek.ingest.decode import prepare

        if self.crash_once:
            try:
                fd = os.open(self.crash_once, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                os._exit(1)  # die mid-chunk, as a lost node would
        done = [prepare(t) for t in tasks]
        ok = [p for p in done if p.error is None]
        emb = self.encoder.embed(np.stack([p.pixels for p in ok])) if ok else None
        out, n = [], 0
        for p in done:
            if p.error is None:
                probs = emb.probs[n] if emb.probs is not None else None
                out.append((p.path, p.size, p.mtime_ns, p.hash, emb.features[n], probs, p.width, p.height, None, p.thumbnail))
                n += 1
            else:
                out.append((p.path, p.size, p.mtime_ns, None, None, None, 0, 0, p.error, None))
        return out


def _start(address: str | None):
    try:
        import ray
    except ImportError:
        raise PixseekError("--ray needs Ray: pip install 'pixseek[ray]'") from None
    if not ray.is_initialized():
        local = address in (None, "", "local")
        ray.init(address=None if local else address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False, ignore_reinit_error=True)
    return ray


def ray_embedded(todo: list[Task], opts: RayOptions) -> Iterator[Prepared]:
    """Items for `todo`, in `todo` order, embedded by Ray actors (features, probs and the pixel thumbnail the
    actor made from its decode, no pixels), so the driver never reads a photo;
    bounded work in flight."""
    ray = _start(opts.address)
    from ray.exceptions import RayActorError

    n_actors = opts.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
    remote = ray.remote(num_cpus=1, max_restarts=0)(_Worker)
    actors = [remote.remote(opts.encoder_spec, opts.crash_once) for _ in range(n_actors)]
    chunks = [todo[i : i + opts.chunk] for i in range(0, len(todo), opts.chunk)]
    attempts = [0] * len(chunks)
    in_flight: dict = {}  # ObjectRef -> (chunk number, actor slot, the actor it was sent to)
    ready: dict[int, list[tuple]] = {}
    next_submit = next_yield = 0
    idle = list(range(n_actors)) * 2  # two chunks per actor, so it never waits for the driver

    def submit(c: int, slot: int) -> None:
        attempts[c] += 1
        in_flight[actors[slot].run.remote(chunks[c])] = (c, slot, actors[slot])

    retry: list[int] = []
    try:
        while next_yield < len(chunks):
            # keep every actor busy, but never run more than 2 chunks per actor ahead of what is yielded
            while idle and (retry or (next_submit < len(chunks) and next_submit < next_yield + 3 * n_actors)):
                c = retry.pop(0) if retry else next_submit
                if c == next_submit:
                    next_submit += 1
                submit(c, idle.pop())
            if in_flight:
                [ref], _ = ray.wait(list(in_flight), num_returns=1)
                c, slot, actor = in_flight.pop(ref)
                try:
                    ready[c] = ray.get(ref)
                except RayActorError:
                    # the actor is gone: replace it, and give its chunk to whoever is free next
                    if actors[slot] is actor:  # its other chunk may have failed first and replaced it already
                        actors[slot] = remote.remote(opts.encoder_spec, opts.crash_once)
                    if attempts[c] < opts.max_attempts:
                        retry.append(c)
                    else:
                        ready[c] = [(p, s, m, None, None, None, 0, 0, f"worker died {attempts[c]} times on this batch", None)
                                    for p, s, m, _ in chunks[c]]
                idle.append(slot)
            while next_yield in ready:
                for path, size, mtime, digest, feat, probs, w, h, error, thumb in ready.pop(next_yield):
                    yield Prepared(path, size, mtime, digest, None, w, h, error, feat, probs, thumbnail=thumb)
                next_yield += 1
    finally:
        for a in actors:
            ray.kill(a)


class RayReader:
    """The Reader (ingest/readers.py) that hands the work to Ray actors."""

    def __init__(self, options: RayOptions) -> None:
        self.options = options

    def read(self, todo: list[Task]) -> Iterator[Prepared]:
        return ray_embedded(todo, self.options)
