"""What every vendor sandbox shares: a WSGI app with a control API, faults and a request log.

A vendor module subclasses `SandboxApp` and implements `handle()` (the vendor's side of the
protocol). Tests, benchmarks and the demo script the next responses through the control API:

    POST /__sandbox/script   {"responses": [<entry>, ...]}   queue entries, used in order
    POST /__sandbox/config   {"latency_ms": 1500, "engine": false, ...}   persistent settings
    POST /__sandbox/reset    forget the script, config, issued tokens and the request log
    GET  /__sandbox/requests the request log (field names and non-image values, no images)

An entry says what the next vendor call does. Keys (all optional):
    "latency_ms": 200          sleep before answering
    "score": 62.5              answer with this similarity (vendor scale 0–100)
    "error": "<vendor code>"   answer with this documented error, exactly as the vendor would
    "risk_tags": [...]         FinAuth risk tags to report ("is_age_risk", "is_gender_risk")
    "same_person": false       force the vendor's own verdict flag (for disagreements)
    "fault": "http_500" | "http_502" | "http_503" | "rate_limit" | "malformed" | "drop"
             | "bad_signature" | "timeout"
    "retry_after": 10          seconds, with "rate_limit"
    "repeat": 3                use this entry for the next 3 calls (default 1)
    "endpoint": "token"        this entry is for another endpoint than the main one (a vendor
                               names its endpoints in `endpoint_of`; default "main")
A vendor module may understand more keys (for example ADVANCE's "expire_token").
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

CONTROL_PREFIX = "/__sandbox/"
IMAGE_FIELD_HINTS = ("image", "face", "img", "photo", "picture")


class SandboxApp:
    vendor: ClassVar[str]

    def __init__(self, credentials: dict[str, str], *, clock: Callable[[], float] = time.time):
        self.credentials = credentials
        self.clock = clock
        self._lock = threading.Lock()
        self._script: deque[dict[str, Any]] = deque()
        self.config: dict[str, Any] = {}
        self.request_log: list[dict[str, Any]] = []

    # --- WSGI ---------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith(CONTROL_PREFIX):
            response = self._control(request)
        else:
            response = self._vendor_call(request, environ)
        return response(environ, start_response)

    def _vendor_call(self, request: Request, environ: dict[str, Any]) -> Response:
        # Keep the raw body: logging parses the form, and signatures cover the exact bytes.
        request.get_data(cache=True)
        entry = self.next_entry(self.endpoint_of(request))
        self.log_request(request)
        latency = entry.get("latency_ms", self.config.get("latency_ms", 0))
        if latency:
            time.sleep(float(latency) / 1000)
        fault = entry.get("fault")
        if fault == "drop":
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            return Response(b"", status=500)
        if fault == "timeout":
            time.sleep(float(entry.get("seconds", 30)))
        if fault in {"http_500", "http_502", "http_503"}:
            return self.server_error(int(fault[5:]))
        if fault == "rate_limit":
            return self.rate_limited(float(entry.get("retry_after", 1)))
        if fault == "malformed":
            return Response(b'{"truncated": ', status=200, content_type="application/json")
        return self.handle(request, entry)

    # --- what a vendor module implements ------------------------------------------------

    def handle(self, request: Request, entry: dict[str, Any]) -> Response:
        raise NotImplementedError

    def server_error(self, status: int) -> Response:
        """The vendor's 5xx body; vendors override to match their documented shape."""
        return Response(b"Service Unavailable", status=status, content_type="text/plain")

    def rate_limited(self, retry_after: float) -> Response:
        """The vendor's rate-limit answer; vendors override to match their documented shape."""
        response = Response(b"Too Many Requests", status=429, content_type="text/plain")
        response.headers["Retry-After"] = str(int(retry_after))
        return response

    @classmethod
    def generate_credentials(cls) -> dict[str, str]:
        """Fresh server-side credentials (keys, secrets) for one sandbox run."""
        raise NotImplementedError

    def client_settings(self, base_url: str) -> dict[str, str]:
        """The DESIGN §9 environment variables a client needs to call this sandbox."""
        raise NotImplementedError

    def use_engine(self) -> bool:
        return bool(self.config.get("engine", True))

    def on_config(self, config: dict[str, Any]) -> None:
        """Vendor-specific persistent settings (e.g. expire all tokens now)."""

    def on_reset(self) -> None:
        """Forget vendor-specific state (tokens, used nonces)."""

    # --- script, log and control --------------------------------------------------------

    def endpoint_of(self, request: Request) -> str:
        """Which endpoint a request is for; entries only apply to theirs (e.g. ADVANCE's token
        request must not consume the entry a test scripted for the next comparison)."""
        return "main"

    def next_entry(self, endpoint: str = "main") -> dict[str, Any]:
        with self._lock:
            for index, entry in enumerate(self._script):
                if entry.get("endpoint", "main") != endpoint:
                    continue
                remaining = int(entry.get("repeat", 1)) - 1
                if remaining > 0:
                    self._script[index] = {**entry, "repeat": remaining}
                else:
                    del self._script[index]
                return entry
            return {}

    def push(self, *entries: dict[str, Any]) -> None:
        with self._lock:
            self._script.extend(entries)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.config.clear()
            self.request_log.clear()
        self.on_reset()

    def log_request(self, request: Request) -> None:
        fields: dict[str, Any] = {}
        for key, value in request.form.items():
            hidden = any(hint in key.lower() for hint in IMAGE_FIELD_HINTS) and len(value) > 64
            fields[key] = f"<{len(value)} chars>" if hidden else value
        for key, file in request.files.items():
            fields[key] = f"<file {file.mimetype} {file.content_length or '?'} bytes>"
        entry = {
            "time": self.clock(),
            "method": request.method,
            "path": request.path,
            "query": dict(request.args),
            "content_type": request.content_type,
            "headers": {k: v for k, v in request.headers.items() if k.lower() != "authorization"},
            "fields": fields,
        }
        entry.update(self.describe_request(request))
        with self._lock:
            self.request_log.append(entry)

    def describe_request(self, request: Request) -> dict[str, Any]:
        """Vendor-specific, image-free facts about a request worth logging (e.g. JSON keys)."""
        return {}

    def _control(self, request: Request) -> Response:
        action = request.path[len(CONTROL_PREFIX) :].strip("/")
        payload: dict[str, Any] = {}
        if request.method == "POST" and request.data:
            payload = json.loads(request.data)
        if action == "script" and request.method == "POST":
            self.push(*payload.get("responses", []))
        elif action == "config" and request.method == "POST":
            with self._lock:
                self.config.update(payload)
            self.on_config(payload)
        elif action == "reset" and request.method == "POST":
            self.reset()
        elif action == "requests" and request.method == "GET":
            with self._lock:
                return json_response({"requests": list(self.request_log)})
        else:
            return json_response({"error": f"unknown control action {action!r}"}, status=404)
        return json_response({"ok": True})


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(
        json.dumps(body, separators=(",", ":")), status=status, content_type="application/json"
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class RunningSandbox:
    """A sandbox served on a loopback port in a background thread."""

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self.host = host
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> RunningSandbox:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
