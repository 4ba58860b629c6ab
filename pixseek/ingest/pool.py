"""Decoding processes that can always be stopped: a small pool built so that Ctrl-C, SIGTERM or an error
in the parent ends it at once, with nothing printed and nothing left running.

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

A worker that dies (a decoder crash, the OOM killer) is replaced: the tasks it held are retried one per
message, and a file that two workers died on, each holding it alone, comes back as a failed file. If the parent is killed, the
workers see their task pipe close (or their result pipe break) and exit.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path

from pixseek.config import child_environment
from pixseek.ingest.decode import Prepared, Task, init_worker, prepare

_WORKER = "from pixseek.ingest.pool import worker_main; worker_main()"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # so the workers import this very pixseek
_DONE = object()


def worker_main() -> None:
    """Body of a decoding process: read task chunks from fd argv[1], send Prepared lists to fd argv[2]."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when decoding stops
    tasks = Connection(int(sys.argv[1]), writable=False)
    results = Connection(int(sys.argv[2]), readable=False)
    init_worker()
    try:
        while (chunk := tasks.recv()) is not None:
            results.send([prepare(t) for t in chunk])
    except (EOFError, OSError):  # the parent closed the pipes or is gone: nothing left to do
        pass


class _Worker:
    """One child process and the parent's ends of its pipes; `held` are the chunks sent, oldest first."""

    def __init__(self) -> None:
        task_r, task_w = os.pipe()
        res_r, res_w = os.pipe()
        env = child_environment(_PACKAGE_ROOT)
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", _WORKER, str(task_r), str(res_w)], pass_fds=(task_r, res_w),
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
        self.held: deque[list[Task]] = deque()

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


class DecoderPool:
    """`run(todo)` yields one Prepared per task, in any order; `close()` stops everything within seconds."""

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

    def run(self, todo: list[Task]) -> Iterator[Prepared]:
        chunks = deque(todo[i : i + self.chunk] for i in range(0, len(todo), self.chunk))
        self._thread = threading.Thread(target=self._io, args=(chunks,), name="pixseek-decoders", daemon=True)
        self._thread.start()
        while True:
            got = self._out.get()  # interruptible: Ctrl-C raises here, and close() runs from the caller's finally
            if got is _DONE:
                return
            if isinstance(got, BaseException):
                raise got
            for item in got:
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

    # -- the thread ---------------------------------------------------------------------------------
    def _io(self, chunks: deque[list[Task]]) -> None:
        try:
            with self._lock:
                if self._stop.is_set():
                    return
                self._workers = [_Worker() for _ in range(min(self.n_workers, len(chunks)))]
            retry: deque[list[Task]] = deque()  # single tasks a dead worker held
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
                    w.held.popleft()
                    self._out.put(items)
            self._out.put(_DONE)
        except BaseException as exc:  # surfaced in the consumer's thread, never printed from here
            self._out.put(exc)

    def _feed(self, chunks: deque[list[Task]], retry: deque[list[Task]]) -> None:
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
                w.held.append(part)
                try:
                    w.tasks.send(part)
                except OSError:  # it died; its result pipe reports EOF next and _replace retries what it held
                    return

    def _replace(self, dead: _Worker, retry: deque[list[Task]]) -> None:
        """A worker died: the file it died on fails if it was alone in its message, the rest are retried."""
        code = dead.proc.poll()
        first = dead.held[0] if dead.held else []
        lost = [t for chunk in list(dead.held)[1:] for t in chunk]
        if len(first) == 1:
            self._deaths[first[0][0]] = self._deaths.get(first[0][0], 0) + 1
        if len(first) == 1 and self._deaths[first[0][0]] >= self.deaths_per_file:
            path, size, mtime_ns, _ = first[0]
            why = f"the decoding process died ({_exit_reason(code)}) on this file {self.deaths_per_file} times"
            self._out.put([Prepared(path, size, mtime_ns, None, None, error=why)])
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
                self._workers.append(_Worker())


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
