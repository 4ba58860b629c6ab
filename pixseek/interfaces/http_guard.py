"""What keeps `pixseek serve` answering when clients misbehave, below and around the routes.

uvicorn closes idle keep-alive connections, but a connection that sends half a request line and then
nothing stays open forever: a few hundred of those take every open file and /api/health stops answering.
The h11 protocol here adds the deadlines it lacks (headers within SERVE_HEADER_SECONDS, no pause over
SERVE_BODY_SECONDS in an upload or in reading an answer) and a cap on open connections: past it, the
connection that has waited longest on its client is closed, never one whose answer is being computed.

For browsers: security headers on every response (no framing, no sniffing, nothing loaded from elsewhere),
and requests that change something (POST, PUT, PATCH, DELETE) refused when another site sends them.
Clients without an Origin header (curl, scripts) are not browsers on a foreign page and pass.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, replace
from functools import partial
from urllib.parse import urlsplit

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from pixseek.config import (
    SERVE_BACKLOG,
    SERVE_BODY_SECONDS,
    SERVE_HEADER_SECONDS,
    SERVE_IDLE_SECONDS,
    SERVE_MAX_CONNECTIONS,
    SERVE_MAX_HEADER_BYTES,
    SERVE_SPARE_FILES,
)

# the page loads its scripts, styles and images from this server only; query images may be blob: URLs.
# Referrer-Policy same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" on the
# page's own POSTs, which the Origin check would refuse.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin", "Cross-Origin-Resource-Policy": "same-origin"}
BATCHES_IN_FLIGHT = 4  # accepted connections not yet counted by the cap: at most this many backlogs
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def add_security_headers(headers) -> None:
    """Set each security header a route has not set itself (/api/original sends its own sandbox policy)."""
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)


def cross_site_refusal(method: str, headers, host: str) -> str | None:
    """Why a request that changes something is refused, or None. A browser says where a request comes from
    (Sec-Fetch-Site, Origin); `host` is the Host header the request was sent to."""
    if method.upper() in SAFE_METHODS:
        return None
    site = headers.get("sec-fetch-site")  # set by the browser itself, never by a page's script
    origin = headers.get("origin")
    if site is not None:
        if site in ("same-origin", "none"):
            return None
        return f"cross-site request refused: {method} from another site ({origin or site}); use the page this server serves"
    if origin is not None:  # a browser without Sec-Fetch-* headers
        scheme, theirs = _authority(origin)
        if theirs is None or theirs != _authority(f"//{host}", scheme)[1]:
            return f"cross-site request refused: {method} from {origin}; use the page this server serves"
    return None


def _authority(url: str, scheme: str = "") -> tuple[str, tuple[str, int] | None]:
    """The scheme and (host, port) of an origin, or of //host[:port] under `scheme`; (host, port) is None
    when the text names none (Origin: null, a malformed one)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return scheme, None
    scheme = scheme or parts.scheme
    if not parts.hostname or scheme not in ("http", "https"):
        return scheme, None
    return scheme, (parts.hostname.lower(), port or (443 if scheme == "https" else 80))


@dataclass(frozen=True)
class Limits:
    """How long and how many: see the SERVE_* settings in config.py."""

    header_seconds: float = SERVE_HEADER_SECONDS
    body_seconds: float = SERVE_BODY_SECONDS
    idle_seconds: int = SERVE_IDLE_SECONDS
    max_connections: int = SERVE_MAX_CONNECTIONS
    max_header_bytes: int = SERVE_MAX_HEADER_BYTES

    backlog: int = SERVE_BACKLOG

    def within_open_files(self) -> Limits:
        """These limits scaled to the files the process may open (its soft limit is first raised towards
        the hard one, as far as they need). asyncio accepts up to `backlog` connections a turn, and a few
        turns pass before the cap closes any, so a few backlogs must fit besides the open connections:
        a full table of open files makes asyncio retry accept() in a storm that stops the server."""
        soft = _raise_open_files(self.max_connections + BATCHES_IN_FLIGHT * self.backlog + SERVE_SPARE_FILES)
        budget = None if soft is None else soft - SERVE_SPARE_FILES
        if budget is None or budget >= self.max_connections + BATCHES_IN_FLIGHT * self.backlog:
            return self
        backlog = max(1, budget // (2 * BATCHES_IN_FLIGHT))
        return replace(self, backlog=backlog, max_connections=max(1, budget - BATCHES_IN_FLIGHT * backlog))


def _raise_open_files(wanted: int) -> int | None:
    """The process's soft limit on open files after raising it to `wanted` where allowed; None: no limit known."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to manage
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def server_config(app, host: str, port: int, limits: Limits | None = None) -> uvicorn.Config:
    """uvicorn's settings for `app`, with the guarded protocol and its limits."""
    limits = (limits or Limits()).within_open_files()
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                          http=partial(GuardedH11Protocol, limits=limits), timeout_keep_alive=limits.idle_seconds,
                          h11_max_incomplete_event_size=limits.max_header_bytes, backlog=limits.backlog)


class GuardedH11Protocol(H11Protocol):
    """One connection: uvicorn's h11 protocol, plus a deadline while it waits on its client. `waiting` says
    for what: "headers" (a request line and headers, the whole of them within header_seconds), "body" (an
    upload, no pause over body_seconds) or "" (its answer is being computed: no deadline, never evicted)."""

    def __init__(self, *args, limits: Limits, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.waiting = ""
        self.last_active = time.monotonic()
        self._deadline: asyncio.TimerHandle | None = None
        self._stalled: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow()
        self._make_room()

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        super().data_received(data)
        self._follow(moved=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.last_active = time.monotonic()
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        self._unstall()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        """The client stopped reading an answer: it gets body_seconds to go on, then the connection is dropped
        (aborted: what it left unread would never drain)."""
        super().pause_writing()
        self._unstall()
        self._stalled = self.loop.call_later(self.limits.body_seconds, self.transport.abort)

    def resume_writing(self) -> None:
        self._unstall()
        super().resume_writing()

    def _unstall(self) -> None:
        if self._stalled is not None:
            self._stalled.cancel()
            self._stalled = None

    def _follow(self, moved: bool = False) -> None:
        """Set the deadline for what the connection now waits on: restarted by each piece of a body, kept
        (not restarted) while headers trickle in."""
        cycle = self.cycle
        waiting = "headers" if cycle is None or cycle.response_complete else "body" if cycle.more_body else ""
        if waiting != self.waiting or (waiting == "body" and moved):
            self._cancel()
            if waiting:
                seconds = self.limits.header_seconds if waiting == "headers" else self.limits.body_seconds
                self._deadline = self.loop.call_later(seconds, self._expire)
        self.waiting = waiting

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.waiting == "body" and self.flow.read_paused:  # the server stopped reading, not the client
            self._deadline = self.loop.call_later(self.limits.body_seconds, self._expire)
            return
        if self.waiting == "headers" and self.conn.trailing_data[0]:  # part of a request came: say why it ends
            message = f"the request's headers did not arrive within {self.limits.header_seconds:g} seconds"
            body = json.dumps({"error": message}).encode()
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                                 b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        self.transport.close()

    def _make_room(self) -> None:
        """Over the cap, close the open connection that has waited longest on its client (this one when
        every other is being answered)."""
        if len(self.connections) <= self.limits.max_connections:
            return
        live = [p for p in self.connections if not p.transport.is_closing()]
        if len(live) <= self.limits.max_connections:
            return
        waiting = [p for p in live if p.waiting]
        victim = min(waiting, key=lambda p: p.last_active) if waiting else self
        victim.transport.close()
