"""Slow and silent clients against a running `pixseek serve`: connections that never finish their request
are closed after a deadline, the number open is capped below the open-files limit, and /api/health keeps
answering throughout (issue: 1,100 half-sent requests once took every open file and the server stopped)."""

from __future__ import annotations

import resource
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from conftest import wait_for

from pixseek.interfaces.collection import Collection
from pixseek.interfaces.http import create_app
from pixseek.interfaces.http_guard import Limits, server_config

OPEN_FILES = 256  # the served process's limit: small, so that a few hundred connections would exhaust it
PARTIAL = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1"  # a request line and half a header, then nothing


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _connect(port: int, send: bytes) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if send:
        s.sendall(send)
    return s


def _closed_by_server(s: socket.socket, wait: float) -> bytes | None:
    """What the server sent before closing the connection, or None when it is still open after `wait` seconds."""
    s.settimeout(wait)
    got = b""
    try:
        while chunk := s.recv(4096):
            got += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return got


def _lower_open_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


@pytest.fixture
def served(tmp_path):
    """`pixseek serve` over an empty collection, in a process that may open OPEN_FILES files."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pixseek", "serve", "--db", str(tmp_path / "db"), "--port", str(port)],
                            stderr=subprocess.PIPE, text=True, preexec_fn=_lower_open_files)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: httpx.get(f"{base}/api/health").status_code == 200, 60, (httpx.HTTPError,)), \
            "the server did not start"
        yield port, base, proc
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_half_sent_requests_neither_exhaust_open_files_nor_stay_open(served):
    port, base, proc = served
    # 300 connections: more than the server may open files for; most send half a request, some nothing
    idle = [_connect(port, PARTIAL if i % 4 else b"") for i in range(300)]
    try:
        health = httpx.get(f"{base}/api/health", timeout=15)  # fails (timeout) while the server cannot accept
        assert health.status_code == 200 and health.json()["ok"] is True
        ended = [_closed_by_server(s, 40) for s in idle]  # the header deadline is 10 s
        still_open = sum(e is None for e in ended)
        assert still_open == 0, f"{still_open} of 300 half-sent requests still open"
        told = [e for e in ended if e]
        assert all(e.startswith(b"HTTP/1.1 408 ") and b"headers did not arrive" in e for e in told), told[:3]
        assert httpx.get(f"{base}/api/health", timeout=15).status_code == 200
    finally:
        for s in idle:
            s.close()
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert "out of system resource" not in err and "Traceback" not in err, err[-2000:]


@contextmanager
def in_process(folder, limits: Limits):
    """A real server in this process (a thread) with these limits, over an empty collection."""
    Collection.open(folder).close()
    server = uvicorn.Server(server_config(create_app(folder), "127.0.0.1", port := _free_port(), limits))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, 30), "the server did not start"
    try:
        yield port, f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(30)


def test_a_trickled_request_or_a_stalled_upload_is_cut_off(tmp_path):
    with in_process(tmp_path / "db", Limits(header_seconds=2, body_seconds=2)) as (port, base, _):
        trickle = _connect(port, b"G")
        upload = _connect(port, b"POST /api/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n"
                                b"Content-Type: application/octet-stream\r\n\r\n" + b"x" * 100)
        try:
            for byte in b"ET /api/health HTTP/1.1\r\n":  # a byte every 0.25 s: activity, never a whole request
                try:
                    trickle.sendall(bytes([byte]))
                except OSError:
                    break
                if _closed_by_server(trickle, 0.25) is not None:
                    break
            else:
                assert _closed_by_server(trickle, 10) is not None, "a request trickled in byte by byte stays open"
            assert _closed_by_server(upload, 10) is not None, "an upload that stopped halfway stays open"
            assert httpx.get(f"{base}/api/health", timeout=10).status_code == 200
        finally:
            trickle.close()
            upload.close()


def test_past_the_cap_the_longest_idle_connections_make_room(tmp_path):
    with in_process(tmp_path / "db", Limits(header_seconds=120, max_connections=50)) as (port, base, _):
        idle = [_connect(port, PARTIAL) for _ in range(120)]
        try:
            assert httpx.get(f"{base}/api/health", timeout=10).status_code == 200  # a new client always gets in
            # the server closed the connections it made room with before it answered: their ends are here
            still_open = sum(_closed_by_server(s, 0.05) is None for s in idle)
            assert still_open <= 50, f"{still_open} connections open, over the cap of 50"
        finally:
            for s in idle:
                s.close()


def _noise_png(side: int) -> bytes:
    """A PNG of random pixels (it does not compress): about side * side * 3 bytes."""
    import io

    import numpy as np
    from PIL import Image

    out = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(out, "PNG", compress_level=1)
    return out.getvalue()


def test_a_client_that_stops_reading_an_answer_is_dropped(tmp_path):
    with in_process(tmp_path / "db", Limits(body_seconds=1)) as (port, base, server):
        big = _noise_png(2300)  # 15 MB kept as an upload (a real image: uploads are decoded): too much for any buffer
        upload = httpx.post(f"{base}/api/uploads", files={"file": ("big.png", big, "image/png")}, timeout=60).json()
        reader = socket.socket()
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.connect(("127.0.0.1", port))
        try:
            reader.sendall(f"GET /api/uploads/{upload['id']} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            # it reads nothing: the server's buffer fills, and after body_seconds it lets go of the connection
            assert wait_for(lambda: not server.server_state.connections, 30), "a client that reads nothing stays connected"
            got = _closed_by_server(reader, 10)
            assert got is not None and len(got) < len(big)
        finally:
            reader.close()
