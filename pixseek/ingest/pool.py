"""Worker processes that can always be stopped: a small pool built so that Ctrl-C, SIGTERM or an error
in the parent ends it at once, with nothing printed and nothing left running. Decoding uses it
(DecoderPool), and so does every other stage that works in processes (reading text: ingest/ocr_stage.py):
a WorkerPool subclass names the worker's program and what a task that killed its workers gives.

Why not multiprocessing.Pool: a Ctrl-C reaches every process of the terminal's group, so each worker
printed a KeyboardInterrupt traceback, and one interrupted inside its result write left half a message in
the pipe: `Pool.terminate` then joined its result thread forever (the run hung until a second Ctrl-C).
SIGTERM gave BrokenPipeError tracebacks and leaked semaphores.

Here each worker is a plain child interpreter (`python -c ...`) in its own session, so signals meant for
the command (a terminal's Ctrl-C, `kill -TERM -<group>`) never reach it; it ignores SIGINT besides. It
talks over two OS pipes (tasks in, results out; multiprocessing's Connection framing, no locks, no
semaphores, no resource tracker). One thread in the parent feeds tasks and receives results, at most
`window` tasks ahead of what the consumer has taken. Stopping never waits on a pipe: the thread is told
to stop and given a second, the workers are terminated, waited for with a timeout and killed.

Pixels do not travel through the pipes: the parent maps one anonymous shared file (memfd) of `window`
slots, each one photo's (size, size, 3) uint8 input, and lends a slot with every task; the worker
writes the crop there and sends only the small rest of its Prepared. The parent copies the slot out as
the consumer takes the photo and lends it again. (Through the pipe a 224 px crop was pickled, written
in 64 KB pieces, read and unpickled: ~0.3 ms per photo, more than decoding a 64 px JPEG, and half of it
in the indexing process, on the encoder's cores.)

A worker that dies (a decoder crash, the OOM killer) is replaced: the tasks it held are retried one per
message, and a file that two workers died on, each holding it alone, comes back as a failed file. If the parent is killed, the
workers see their task pipe close (or their result pipe break) and exit.
"""

from __future__ import annotations

import mmap
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path

import numpy as np

from pixseek.config import child_environment
from pixseek.ingest.decode import Prepared, Task, init_worker, prepare

_WORKER = "from pixseek.ingest.pool import worker_main; worker_main()"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # so the workers import this very pixseek
_DONE = object()
Lent = tuple[object, int]  # a task and the pixel slot lent with it (-1: none)


class Slots:
    """`count` pixel buffers of `shape` uint8 in one shared anonymous file; `fd` is passed to the workers."""

    def __init__(self, count: int, shape: tuple[int, ...], fd: int | None = None) -> None:
        self.shape, self.count = shape, count
        size = count * int(np.prod(shape))
        self.owner = fd is None
        if fd is None:
            if hasattr(os, "memfd_create"):
                fd = os.memfd_create("pixseek-pixels")
            else:  # no memfd (macOS): an unlinked file, in page cache
                fd, name = tempfile.mkstemp(prefix="pixseek-pixels-")
                os.unlink(name)
            os.ftruncate(fd, size)
        self.fd = fd
        self._map = mmap.mmap(fd, size)
        self.view = np.frombuffer(self._map, np.uint8).reshape(count, *shape)
        self.free: deque[int] = deque(range(count))  # the parent's: slots not lent now

    def put(self, slot: int, item: Prepared) -> Prepared:
        """In a worker: move the item's pixels into the slot (if they fit it) and out of the message."""
        px = item.pixels
        if 0 <= slot < self.count and px is not None and px.shape == self.shape and px.dtype == np.uint8:
            self.view[slot] = px
            item.pixels = None
        return item

    def take(self, slot: int, item: Prepared) -> Prepared:
        """In the parent: the item with its pixels copied out of its slot, and the slot free again."""
        if slot >= 0:
            if item.error is None and item.pixels is None and item.features is None:
                item.pixels = self.view[slot].copy()
            self.free.append(slot)
        return item

    def close(self) -> None:
        del self.view
        try:
            self._map.close()
        except BufferError:  # a view still held somewhere: the mapping goes with it
            pass
        if self.owner:
            os.close(self.fd)


def worker_main(init: Callable[[], None] = init_worker, work: Callable = prepare) -> None:
    """Body of a worker process: `init()`, then read (task, slot) chunks from fd argv[1] and send the list
    of `work(task)` to fd argv[2]; with pixel slots (shared file at fd argv[3], slots of shape argv[4], e.g.
    224x224x3; fd -1: none), each result's pixels go into the slot lent with its task."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when work stops
    tasks = Connection(int(sys.argv[1]), writable=False)
    results = Connection(int(sys.argv[2]), readable=False)
    slots = None
    if int(sys.argv[3]) >= 0:
        shape = tuple(int(v) for v in sys.argv[4].split("x"))
        slots = Slots(os.fstat(int(sys.argv[3])).st_size // int(np.prod(shape)), shape, fd=int(sys.argv[3]))
    init()
    try:
        while (chunk := tasks.recv()) is not None:
            done = [work(t) for t, _ in chunk]
            results.send(done if slots is None else [slots.put(slot, d) for d, (_, slot) in zip(done, chunk)])
    except (EOFError, OSError):  # the parent closed the pipes or is gone: nothing left to do
        pass


class _Worker:
    """One child process and the parent's ends of its pipes; `held` are the chunks sent, oldest first."""

    def __init__(self, slots: Slots | None, program: str) -> None:
        task_r, task_w = os.pipe()
        res_r, res_w = os.pipe()
        env = child_environment(_PACKAGE_ROOT)
        fd, shape = (slots.fd, "x".join(map(str, slots.shape))) if slots is not None else (-1, "0")
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", program, str(task_r), str(res_w), str(fd), shape],
                                         pass_fds=(task_r, res_w) + ((fd,) if fd >= 0 else ()),
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env,
                                         start_new_session=True)
        except BaseException:
            for fd in (task_w, res_r):
                os.close(fd)
            raise
        finally:
            os.close(task_r)
            os.close(res_w)
        self.tasks = Connection(task_w, readable=False)
        self.results = Connection(res_r, writable=False)
        self.held: deque[list[Lent]] = deque()

    def close_pipes(self) -> None:
        for conn in (self.tasks, self.results):
            try:
                conn.close()
            except OSError:
                pass

    def stop(self, grace: float) -> None:
        """Close the pipes (a worker waiting for work exits), then terminate and at last kill; bounded."""
        self.close_pipes()
        for step in (None, self.proc.terminate, self.proc.kill):
            if step is not None:
                try:
                    step()
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue


class WorkerPool:
    """`run(todo)` yields one result per task, in any order; `close()` stops everything within seconds.
    A subclass says what its workers run (`program`, a `python -c` body calling worker_main), what a task
    that workers kept dying on gives (`failed`), and whether results lend pixel slots (`slot_shape`)."""

    program = _WORKER

    def slot_shape(self, todo: list) -> tuple[int, ...] | None:
        return None

    def failed(self, task, why: str):
        """The result for a task its workers kept dying on; `why` reads "died (signal SIGKILL) on this file 2 times"."""
        raise NotImplementedError

    def __init__(self, workers: int, window: int = 256, chunk: int = 4, per_worker: int = 4) -> None:
        self.n_workers, self.window, self.chunk, self.per_worker = max(1, workers), max(1, window), max(1, chunk), per_worker
        self._room = threading.Semaphore(self.window)  # tasks that may be sent before the consumer takes more
        self._out: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards _workers against close() while the thread replaces one
        self._workers: list[_Worker] = []
        self._thread: threading.Thread | None = None
        self._deaths: dict[str, int] = {}  # path -> workers that died holding it alone
        self.deaths_per_file = 2  # a file fails after this many (one death may be the OOM killer's, not the file's)
        self._slots: Slots | None = None  # one per room in the window: a task that has room has a slot

    def run(self, todo: list) -> Iterator:
        if not todo:
            return
        shape = self.slot_shape(todo)
        self._slots = Slots(self.window, shape) if shape is not None else None
        chunks = deque(todo[i : i + self.chunk] for i in range(0, len(todo), self.chunk))
        self._thread = threading.Thread(target=self._io, args=(chunks,), name="pixseek-decoders", daemon=True)
        self._thread.start()
        while True:
            got = self._out.get()  # interruptible: Ctrl-C raises here, and close() runs from the caller's finally
            if got is _DONE:
                return
            if isinstance(got, BaseException):
                raise got
            for item, slot in got:
                if self._slots is not None:
                    item = self._slots.take(slot, item)  # frees the slot before its room: room always has a slot
                self._room.release()
                yield item

    def close(self, grace: float = 0.5) -> None:
        """Stop the thread and the workers; never blocks on a pipe, and returns within ~3 x grace + 1 s."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)  # if it is stuck in a read, it is a daemon and is abandoned
        with self._lock:
            workers, self._workers = self._workers, []
        for w in workers:
            w.close_pipes()
            try:
                w.proc.terminate()  # most are mid-decode; none holds anything worth waiting for
            except OSError:
                pass
        for w in workers:
            w.stop(grace)
        if self._slots is not None and (self._thread is None or not self._thread.is_alive()):
            self._slots.close()  # (a thread abandoned in a read keeps the mapping; it goes with the process)
            self._slots = None

    # -- the thread ---------------------------------------------------------------------------------
    def _io(self, chunks: deque[list]) -> None:
        try:
            with self._lock:
                if self._stop.is_set():
                    return
                self._workers = [_Worker(self._slots, self.program) for _ in range(min(self.n_workers, len(chunks)))]
            retry: deque[list] = deque()  # single tasks a dead worker held
            while not self._stop.is_set():
                self._feed(chunks, retry)
                busy = [w for w in self._workers if w.held]
                if not busy:
                    if not chunks and not retry:
                        break
                    self._stop.wait(0.05)  # waiting for the consumer to make room
                    continue
                by_conn = {w.results: w for w in busy}
                for conn in wait(list(by_conn), timeout=0.1):
                    w = by_conn[conn]
                    try:
                        items = conn.recv()
                    except (EOFError, OSError):
                        self._replace(w, retry)
                        continue
                    sent = w.held.popleft()
                    self._out.put([(item, slot) for item, (_, slot) in zip(items, sent)])
            self._out.put(_DONE)
        except BaseException as exc:  # surfaced in the consumer's thread, never printed from here
            self._out.put(exc)

    def _feed(self, chunks: deque[list], retry: deque[list]) -> None:
        for w in sorted(self._workers, key=lambda w: len(w.held)):
            while len(w.held) < self.per_worker and (retry or chunks):
                source = retry if retry else chunks
                if not self._room.acquire(blocking=False):
                    return
                taken = 1
                while taken < len(source[0]) and self._room.acquire(blocking=False):
                    taken += 1
                head = source[0]
                part, rest = head[:taken], head[taken:]
                if rest:
                    source[0] = rest
                else:
                    source.popleft()
                part = [(t, self._slots.free.popleft() if self._slots is not None else -1) for t in part]
                w.held.append(part)
                try:
                    w.tasks.send(part)
                except OSError:  # it died; its result pipe reports EOF next and _replace retries what it held
                    return

    def _replace(self, dead: _Worker, retry: deque[list]) -> None:
        """A worker died: the file it died on fails if it was alone in its message, the rest are retried."""
        code = dead.proc.poll()
        for chunk in dead.held:
            if self._slots is not None:
                self._slots.free.extend(slot for _, slot in chunk)  # lent again when their tasks are sent again
        first = [t for t, _ in dead.held[0]] if dead.held else []
        lost = [t for chunk in list(dead.held)[1:] for t, _ in chunk]
        if len(first) == 1:
            self._deaths[first[0][0]] = self._deaths.get(first[0][0], 0) + 1
        if len(first) == 1 and self._deaths[first[0][0]] >= self.deaths_per_file:
            why = f"died ({_exit_reason(code)}) on this file {self.deaths_per_file} times"
            self._out.put([(self.failed(first[0], why), -1)])
        else:
            lost = first + lost
        for _ in lost:
            self._room.release()  # they are sent again, and take room again
        retry.extend([t] for t in lost)
        with self._lock:
            if dead in self._workers:
                self._workers.remove(dead)
            dead.stop(0.2)
            if not self._stop.is_set():
                self._workers.append(_Worker(self._slots, self.program))


class DecoderPool(WorkerPool):
    """Decoding (ingest/decode.py): one Prepared per Task, its pixels through the shared slots."""

    def slot_shape(self, todo: list[Task]) -> tuple[int, ...]:
        side = todo[0][3].size
        return (side, side, 3)

    def failed(self, task: Task, why: str) -> Prepared:
        path, size, mtime_ns, _ = task
        return Prepared(path, size, mtime_ns, None, None, error=f"the decoding process {why}")


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
