"""Keeping a collection in step with folders as files are added, changed, moved and deleted.

File system events (inotify on Linux, through watchdog) are gathered until the folders have been quiet
for `debounce` seconds (or `max_wait` seconds have passed since the first of them), then turned into the
folders to look at again: for each changed path, the nearest folder that still exists. An ordinary index
run over those folders does the rest (scan, diff against the catalog, embed, commit), so a watched
collection is as crash-safe as any other, and a watcher killed at any point catches up on its next start
with the full run it begins with.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path


def dirty_folders(paths: set[str], roots: list[Path], skip: Path | None = None) -> list[Path]:
    """The folders to index again for these changed paths: each path's nearest existing folder inside a
    watched root, without folders already covered by another one in the list, nor any inside `skip` (the
    collection's own folder, which every index run writes). Roots and paths may be relative or pass
    through symlinks: both are compared resolved (ingest/run.py indexes resolved roots)."""
    resolved = [r.resolve() for r in roots]
    skip = skip.resolve() if skip is not None else None
    out: set[Path] = set()
    for p in paths:
        folder = Path(os.path.abspath(p))
        while not folder.is_dir() and folder != folder.parent:
            folder = folder.parent
        folder = folder.resolve()
        if skip is not None and (folder == skip or skip in folder.parents):
            continue
        inside = [r for r in resolved if folder == r or r in folder.parents]
        if inside:
            out.add(folder)
        elif any(folder in r.parents for r in resolved):  # above a root (the root itself was removed)
            out.update(r for r in resolved if r.is_dir())
    return sorted(f for f in out if not any(o in f.parents for o in out))


class FolderEvents:
    """Changes below `roots`, recorded from the moment the context is entered (so that nothing copied in
    during the first index run is missed), handed out as batches of folders to index again."""

    def __init__(self, roots: list[Path], skip: Path | None = None) -> None:
        """skip: the collection's own folder, whose changes are never indexed (it may lie below a root)."""
        self.roots = [Path(r).resolve() for r in roots]  # watched as indexed: the events name resolved paths
        self.skip = skip
        self.events: queue.Queue[str] = queue.Queue()
        self.observer = None

    def __enter__(self) -> FolderEvents:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        events = self.events

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return  # reads, not changes
                events.put(str(event.src_path))
                if event.dest_path:  # a move: both ends changed
                    events.put(str(event.dest_path))

        self.observer = Observer()
        for root in self.roots:
            self.observer.schedule(Handler(), str(root), recursive=True)
        self.observer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)

    def batches(self, debounce: float = 1.0, max_wait: float = 10.0,
                stop: threading.Event | None = None) -> Iterator[list[Path]]:
        """Yield lists of folders to index again, until `stop` is set (or the caller stops iterating)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                first = self.events.get(timeout=0.2)
            except queue.Empty:
                continue
            pending, started, last = {first}, time.monotonic(), time.monotonic()
            while not stop.is_set() and time.monotonic() - last < debounce and time.monotonic() - started < max_wait:
                try:
                    pending.add(self.events.get(timeout=0.05))
                    last = time.monotonic()
                except queue.Empty:
                    pass
            folders = dirty_folders(pending, self.roots, self.skip)
            if folders:
                yield folders
