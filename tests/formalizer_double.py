"""TEST DOUBLE for a strong formalizer model (none runs on these machines).

`ScriptedFormalizerDouble` is a small HTTP server on 127.0.0.1 speaking the OpenAI chat format
(`/v1/models`, `/v1/chat/completions`). It answers with scripted texts, in order, one choice per
request (like llama.cpp, it ignores `n`), so the real `OpenAILLM` client, the real guard, the
real Lean and the real numeric checker do all the work; only the model is scripted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ScriptedFormalizerDouble:
    """A context manager; `url` is the base URL, `requests` the JSON bodies received."""

    def __init__(self, answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []
        self._next = 0
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._reply({"data": [{"id": "scripted-double"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with double._lock:
                    double.requests.append(body)
                    text = double.answers[double._next % len(double.answers)]
                    double._next += 1
                self._reply({"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                          "finish_reason": "stop"}]})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedFormalizerDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
