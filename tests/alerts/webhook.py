"""A real HTTP server in a thread, standing in for a DingTalk / WeCom robot or any JSON endpoint."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import urllib.parse


class Robot:
    def __init__(self):
        self.received: list[dict] = []  # {"path", "query", "content_type", "body"}
        self.status = 200
        self.answer: dict = {"errcode": 0, "errmsg": "ok"}
        self.url = ""


@contextlib.contextmanager
def robot():
    """Yields a Robot whose `url` takes POSTs; each body is parsed as JSON into `received`."""
    state = Robot()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            parts = urllib.parse.urlsplit(self.path)
            state.received.append(
                {
                    "path": parts.path,
                    "query": urllib.parse.parse_qs(parts.query),
                    "content_type": self.headers.get("Content-Type"),
                    "body": json.loads(raw.decode("utf-8")),
                }
            )
            data = json.dumps(state.answer).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/robot/send"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
