"""The halfface server on its own thread, for the tests: a free port, generous rate limits."""

import threading
import time

from experiment.web.server import Limits, make_server


def serve_in_thread(site, logs, host="127.0.0.1", port=0, limits=Limits(api_per_s=1000, api_burst=10_000,
                                                                         starts_per_min=60_000, starts_burst=10_000)):
    """A running server on a free port (or ``port``) and its thread; ``server.shutdown()`` stops it."""
    server = make_server(site, logs, host, port, quiet=True, limits=limits)
    server.server.config.install_signal_handlers = False  # not the main thread
    thread = server.thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    return server, thread
