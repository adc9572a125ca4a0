"""``python -m experiment serve SITE --logs LOGS``: serves a built site and saves what its browsers post.

Built on Starlette (the ASGI toolkit under FastAPI) run by uvicorn, both widely
used and maintained, instead of a hand-rolled request loop: uvicorn parses HTTP
(h11), holds idle connections without a thread each and drops them after
``KEEP_ALIVE_S``; Starlette routes. What this module adds is the study's policy:

- GET serves only the files the build wrote (an allow-list made at start-up:
  no directory listing, nothing outside SITE, never ``design.json``, which holds
  the completion link); any other path, ``/%00`` included, is a plain 404;
- POST ``/api/session``, ``/api/calibration``, ``/api/trial``, ``/api/end`` go to
  :class:`experiment.web.store.SessionStore` (in a worker thread: it fsyncs);
- bodies over ``MAX_BODY_BYTES`` or slower than ``BODY_TIMEOUT_S`` are refused,
  JSON is strict (no NaN/Infinity, an object at the top), headers must arrive within
  ``HEADER_TIMEOUT_S`` and silent connections close after ``KEEP_ALIVE_S``, a per-client token
  bucket limits API requests and, more tightly, session starts;
- every reply is JSON with ``"halfface": true`` (so the page can tell this server
  from a plain static host); errors are generic, details go to stderr only.

Binds to 127.0.0.1 unless ``--host`` says otherwise; for a public study put it
behind an HTTPS reverse proxy (docs/online.md).
"""

import asyncio
import json
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from experiment.web.build import FORMAT
from experiment.web.store import RequestError, SessionStore
from halfface.cli import UserError

MAX_BODY_BYTES = 64_000
BODY_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5
HEADER_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 1000
ROUTES = {"/api/session": "start", "/api/calibration": "calibration", "/api/trial": "trial", "/api/end": "end"}
NOT_SERVED = ("design.json",)  # the server reads it; the browser reads design.js
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                                 b"script-src 'self'; connect-src 'self'; frame-ancestors 'none'"),
]


class ServeError(UserError, ValueError):
    """The site or log folder cannot be served; one line with the fix."""


@dataclass(frozen=True)
class Limits:
    """Per-client budgets (token buckets): requests per second with a burst, for the API and for starts."""
    api_per_s: float = 10.0
    api_burst: int = 60
    starts_per_min: float = 6.0
    starts_burst: int = 10


class RateLimiter:
    """Token buckets per (client, kind); a full bucket is forgotten, so memory stays bounded."""

    def __init__(self, limits: Limits, clock=time.monotonic):
        self.limits, self.clock = limits, clock
        self.buckets = {}

    def allow(self, client: str, kind: str) -> bool:
        if kind == "start":
            rate, burst = self.limits.starts_per_min / 60, self.limits.starts_burst
        elif kind == "static":  # a page preloads every picture at once
            rate, burst = 20 * self.limits.api_per_s, 20 * self.limits.api_burst
        else:
            rate, burst = self.limits.api_per_s, self.limits.api_burst
        now = self.clock()
        tokens, last = self.buckets.get((client, kind), (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if len(self.buckets) > 100_000:
            self.buckets = {k: v for k, v in self.buckets.items() if v[0] + (now - v[1]) * rate < burst}
        if tokens < 1:
            self.buckets[(client, kind)] = (tokens, now)
            return False
        self.buckets[(client, kind)] = (tokens - 1, now)
        return True


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def parse_json(data: bytes) -> dict:
    """Strict JSON: UTF-8, no NaN/Infinity, an object at the top (else RequestError 400)."""
    try:
        body = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RequestError(400, "request body is not JSON") from None
    if not isinstance(body, dict):
        raise RequestError(400, "request body must be a JSON object")
    return body


def site_files(site: Path) -> dict:
    """URL path -> file for every file the build wrote (``/`` is index.html); read once at start-up."""
    files = {"/": site / "index.html"}
    for path in site.rglob("*"):
        rel = path.relative_to(site).as_posix()
        if path.is_file() and not path.is_symlink() and rel not in NOT_SERVED and not rel.startswith("."):
            files["/" + rel] = path
    return files


def make_app(site, logs, quiet=False, limits=Limits()):
    """The ASGI app (Starlette) for a built site and a log folder."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import ClientDisconnect
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Route

    site, logs = Path(site).resolve(), Path(logs)
    design = load_site(site)
    if logs.exists() and not logs.is_dir():
        raise ServeError(f"{logs} is not a folder: choose another --logs")
    if logs.resolve().is_relative_to(site):
        raise ServeError(f"--logs {logs} is inside the site folder, whose files are served to anyone: "
                         "keep the logs outside it")
    logs.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = SessionStore(logs, design)
    files = site_files(site)
    limiter = RateLimiter(limits)
    headers = {k.decode(): v.decode() for k, v in SECURITY_HEADERS}

    def reply(status, payload):
        return JSONResponse(dict(payload, halfface=True, ok=status == 200), status_code=status, headers=headers)

    def refuse(request, status, message):
        if not quiet:
            print(f"refused {request.method} {request.url.path[:80]!r} from {_client(request)}: {message}",
                  file=sys.stderr)
        return reply(status, {"error": message})

    async def read_body(request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            raise RequestError(413, f"request body over {MAX_BODY_BYTES} bytes")
        chunks, size = [], 0

        async def collect():
            nonlocal size
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise RequestError(413, f"request body over {MAX_BODY_BYTES} bytes")
                chunks.append(chunk)

        try:
            await asyncio.wait_for(collect(), BODY_TIMEOUT_S)  # a trickled body must not hold the connection
        except asyncio.TimeoutError:
            raise RequestError(408, "request body too slow") from None
        return b"".join(chunks)

    async def api(request):
        method = ROUTES.get(request.url.path)
        if method is None:
            return refuse(request, 404, "no such endpoint")
        if request.method != "POST":
            return refuse(request, 405, "use POST")
        if not limiter.allow(_client(request), "start" if method == "start" else "api"):
            return refuse(request, 429, "too many requests: wait a moment and try again")
        try:
            body = parse_json(await read_body(request))
            return reply(200, await run_in_threadpool(getattr(store, method), body))
        except RequestError as err:
            return refuse(request, err.status, str(err))
        except ClientDisconnect:
            return reply(400, {"error": "client went away"})
        except Exception:  # a bug: the details go to the server's console, never to the browser
            traceback.print_exc()
            return reply(500, {"error": "server error: the researchers have been told in the server log"})

    async def static(request):
        if request.method not in ("GET", "HEAD"):
            return refuse(request, 405, "method not allowed")
        if not limiter.allow(_client(request), "static"):
            return refuse(request, 429, "too many requests: wait a moment and try again")
        path = files.get(request.url.path)
        if path is None:
            return reply(404, {"error": "not found"})
        return FileResponse(path, headers=headers)

    async def not_found(request, exc):
        return reply(getattr(exc, "status_code", 404), {"error": "not found"})

    async def server_error(request, exc):
        traceback.print_exc()
        return reply(500, {"error": "server error"})

    routes = [Route("/api/{name:path}", api, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
              Route("/{path:path}", static, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found, 500: server_error})
    app.state.store = store
    return app


def _client(request) -> str:
    return request.client.host if request.client else "?"


def load_site(site) -> dict:
    site = Path(site)
    path = site / "design.json"
    try:
        design = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ServeError(f"{path} not found: pass a folder built by python -m experiment web") from None
    except ValueError as err:
        raise ServeError(f"{path}: not valid JSON ({err}); rebuild the site") from None
    if not isinstance(design, dict) or design.get("format") != FORMAT:
        raise ServeError(f"{path}: not a site of this version ({FORMAT}); rebuild it with python -m experiment web")
    return design


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restarted server gets its port back at once
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port} ({err.strerror}): choose another --port") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _protocol():
    """uvicorn's h11 protocol, but a connection that never sends a request is also closed after KEEP_ALIVE_S.

    uvicorn starts its keep-alive timer only after a first response, so connections that open and
    stay silent would otherwise be held until the client goes away (and count against MAX_CONNECTIONS).
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Protocol(H11Protocol):
        header_timer = None

        def connection_made(self, transport):
            super().connection_made(transport)
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive,
                                                                self.timeout_keep_alive_handler)

        def waiting_for_headers(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def data_received(self, data):
            # Any byte stops uvicorn's keep-alive timer; a client trickling a request's headers one byte at
            # a time (slowloris) would then hold the connection for ever: it gets HEADER_TIMEOUT_S in all.
            super().data_received(data)
            if self.waiting_for_headers():
                if self.header_timer is None:
                    self.header_timer = self.loop.call_later(HEADER_TIMEOUT_S, self.header_timeout)
            elif self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def header_timeout(self):
            self.header_timer = None
            if self.waiting_for_headers() and not self.transport.is_closing():
                self.transport.close()

        def connection_lost(self, exc):
            if self.header_timer is not None:
                self.header_timer.cancel()
            super().connection_lost(exc)

    return Protocol


class RunningServer:
    """A uvicorn server on its own socket; ``server_address``, ``shutdown()``, ``server_close()`` like socketserver."""

    def __init__(self, app, sock: socket.socket, quiet=False, forwarded_allow_ips=None):
        import uvicorn

        self.sock = sock
        self.server_address = sock.getsockname()[:2]
        config = uvicorn.Config(app, http=_protocol(), log_level="warning" if quiet else "info", access_log=not quiet,
                                timeout_keep_alive=KEEP_ALIVE_S, limit_concurrency=MAX_CONNECTIONS,
                                h11_max_incomplete_event_size=16_384, server_header=False,
                                proxy_headers=forwarded_allow_ips is not None,
                                forwarded_allow_ips=forwarded_allow_ips or "127.0.0.1", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = None

    def serve_forever(self):
        self.server.run(sockets=[self.sock])

    def shutdown(self):
        """Stop accepting, finish open requests; returns once the thread in ``self.thread`` (if any) has stopped."""
        self.server.should_exit = True
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout=30)

    def server_close(self):
        self.sock.close()


def make_server(site, logs, host="127.0.0.1", port=8000, quiet=False, limits=Limits(),
                forwarded_allow_ips=None) -> RunningServer:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ServeError("python -m experiment serve needs Starlette and uvicorn: pip install -e '.[web]'") from None
    app = make_app(site, logs, quiet, limits)
    return RunningServer(app, listening_socket(host, port), quiet, forwarded_allow_ips)


def serve(site, logs, host="127.0.0.1", port=8000, quiet=False, limits=Limits(), forwarded_allow_ips=None) -> int:
    server = make_server(site, logs, host, port, quiet, limits, forwarded_allow_ips)
    url = f"http://{host}:{server.server_address[1]}/"
    print(f"serving {Path(site).resolve()} at {url}  (logs: {Path(logs).resolve()}); Ctrl+C stops", flush=True)
    print(f"participant link: {url}?participant=P01   (Prolific: {url}?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}"
          "&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}})", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {host}: anyone on this network can open the study and post data; "
              "for a public study listen on 127.0.0.1 behind an HTTPS reverse proxy (docs/online.md)",
              file=sys.stderr)
    try:
        server.serve_forever()  # uvicorn finishes open requests on Ctrl+C / SIGTERM, then returns
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0

