"""``python -m experiment serve SITE --logs LOGS``: serves a built site and saves what its browsers post.

Standard library only (``http.server``): GET serves the site's files (never a
directory listing, never anything outside SITE); POST ``/api/session``,
``/api/calibration``, ``/api/trial`` and ``/api/end`` go to
:class:`experiment.web.store.SessionStore`, which validates, appends, fsyncs and
only then answers. Replies are JSON with ``"halfface": true`` so the browser can
tell this server from a plain static host (where it falls back to the CSV
download). Binds to 127.0.0.1 unless ``--host`` says otherwise.
"""

import json
import sys
import threading
import traceback
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from experiment.web.build import FORMAT
from experiment.web.store import RequestError, SessionStore

MAX_BODY_BYTES = 64_000
ROUTES = {"/api/session": "start", "/api/calibration": "calibration", "/api/trial": "trial", "/api/end": "end"}


class ServeError(ValueError):
    """The site or log folder cannot be served; one line with the fix."""


class Handler(SimpleHTTPRequestHandler):
    store: SessionStore = None
    quiet = False


    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def list_directory(self, path):
        self.send_error(HTTPStatus.NOT_FOUND, "No directory listings")
        return None

    def do_POST(self):
        method = ROUTES.get(self.path.split("?", 1)[0])
        try:
            if method is None:
                raise RequestError(404, f"no such endpoint {self.path[:80]!r}")
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit() or int(length) > MAX_BODY_BYTES:
                self.close_connection = True  # the unread body must not be taken for the next request
                if length is None or not length.isdigit():
                    raise RequestError(411, "a Content-Length header is required")
                raise RequestError(413, f"request body over {MAX_BODY_BYTES} bytes")
            try:
                body = json.loads(self.rfile.read(int(length)).decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise RequestError(400, "request body is not JSON") from None
            if not isinstance(body, dict):
                raise RequestError(400, "request body must be a JSON object")
            self._reply(200, getattr(self.store, method)(body))
        except RequestError as err:
            self._reply(err.status, {"error": str(err)})
            if not self.quiet:
                print(f"refused {self.path}: {err}", file=sys.stderr)
        except Exception as err:  # a bug here must not look like a network failure to the browser
            traceback.print_exc()
            self._reply(500, {"error": f"server error: {type(err).__name__}: {err}"})

    def _reply(self, status, payload):
        data = json.dumps(dict(payload, halfface=True, ok=status == 200)).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 makes a burst of connections wait for SYN retries (1 s)


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


def make_server(site, logs, host="127.0.0.1", port=8000, quiet=False) -> ThreadingHTTPServer:
    site, logs = Path(site).resolve(), Path(logs)
    design = load_site(site)
    if logs.exists() and not logs.is_dir():
        raise ServeError(f"{logs} is not a folder: choose another --logs")
    if logs.resolve().is_relative_to(site):
        raise ServeError(f"--logs {logs} is inside the site folder, whose files are served to anyone: "
                         "keep the logs outside it")
    logs.mkdir(parents=True, exist_ok=True)
    handler = type("SiteHandler", (Handler,), {"store": SessionStore(logs, design), "quiet": quiet})
    return Server((host, port), partial(handler, directory=str(site)))


def serve(site, logs, host="127.0.0.1", port=8000, quiet=False) -> int:
    try:
        server = make_server(site, logs, host, port, quiet)
    except OSError as err:
        raise ServeError(f"cannot listen on {host}:{port} ({err.strerror}): choose another --port") from None
    url = f"http://{host}:{server.server_address[1]}/"
    print(f"serving {Path(site).resolve()} at {url}  (logs: {Path(logs).resolve()}); Ctrl+C stops", flush=True)
    print(f"participant link: {url}?participant=P01&session=1", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {host}: anyone on this network can open the study and post data",
              file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def serve_in_thread(site, logs, host="127.0.0.1", port=0):
    """A running server on a free port and its thread (tests, notebooks)."""
    server = make_server(site, logs, host, port, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread
