"""A loopback HTTP server that answers health checks as `vllm serve` (a FastAPI app) does: `GET /health`
is 200 with an empty body, `GET /health/` is a 307 redirect to `/health` (FastAPI's `redirect_slashes`),
anything else 404. It starts listening only after `delay` seconds, as vLLM does once its engine is up.

    python tests/fake_vllm_health_server.py PORT [DELAY_S]
"""

from __future__ import annotations

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Health(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path == "/health":
            self.send_response(200)
            self.send_header("content-length", "0")
        elif self.path == "/health/":
            self.send_response(307)
            self.send_header("location", f"http://127.0.0.1:{self.server.server_port}/health")
            self.send_header("content-length", "0")
        else:
            self.send_response(404)
            self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):  # quiet
        pass


if __name__ == "__main__":
    port, delay = int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    time.sleep(delay)
    ThreadingHTTPServer(("127.0.0.1", port), Health).serve_forever()
