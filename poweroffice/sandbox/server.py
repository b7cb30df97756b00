"""The sandbox's HTTP server: PowerOffice Go v2 over real HTTP, on the standard library.

    from poweroffice.sandbox.server import start_sandbox
    sandbox = start_sandbox(port=0)      # background thread
    sandbox.url                          # http://127.0.0.1:PORT
    sandbox.stop()

Paths: ``/OAuth/Token`` and ``/v2/...`` (and the ``/Demo/OAuth/Token``, ``/Demo/v2/...``
spellings), hooks under ``/_sandbox/``, and a page at ``/`` showing what each client received.
The hooks and the page are guarded (guard.py): same origin, JSON, and a hook token unless the
sandbox runs open for a local demo. Every answer says SANDBOX in its ``X-Sandbox`` header.
"""

import contextlib
import io
import json
import random
import re
import secrets
import socket
import struct
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

from . import hooks, page
from .api import onboarding, router
from .api.oauth import basic_keys, issue_token
from .guard import SANDBOX_HEADER, TOKEN_HEADER, HookGuard
from .responses import (
    ApiError,
    Response,
    empty_response,
    json_response,
    now_iso,
    problem_response,
    rate_limited_response,
    subscription_refused_response,
)
from .state import SandboxState

MAX_BODY_BYTES = 40 * 1024 * 1024
LOGGED_TEXT_BYTES = 256 * 1024

_PREFIX_RE = re.compile(r"^(?P<demo>/demo)?(?P<rest>/.*)$", re.IGNORECASE)


class _BodyTooLarge(Exception):
    pass


def _json_or_none(raw: bytes):
    try:
        return json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


# The kernel's receive time of each read (Linux), so that a request's arrival is when it reached
# the machine, not when a busy handler thread got round to it.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform.startswith("linux") else None)


class _ArrivalReader(io.RawIOBase):
    """The connection's bytes, noting the kernel's receive time of the latest read."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.received: float | None = None  # time.time() of the latest read, when known

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size, ancillary, _flags, _address = self.sock.recvmsg_into([buffer], socket.CMSG_SPACE(16))
        self.received = None
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                seconds, nanos = struct.unpack("qq", data[:16])
                self.received = seconds + nanos / 1e9
        return size


class SandboxHandler(BaseHTTPRequestHandler):
    server: "SandboxServer"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY each answer waits ~40 ms for
    # the client's delayed ACK.
    disable_nagle_algorithm = True
    server_version = "PowerOfficeGoSandbox/1.0"
    timeout = 120

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_OPTIONS(self):
        self._handle("OPTIONS")

    @property
    def state(self) -> SandboxState:
        return self.server.state

    @property
    def guard(self) -> HookGuard:
        return self.server.guard  # type: ignore[attr-defined]  # a SandboxServer's

    def end_headers(self):
        self.send_header(*SANDBOX_HEADER)
        super().end_headers()

    def setup(self) -> None:
        super().setup()
        self._arrivals = None
        if SO_TIMESTAMPNS is not None:
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            except OSError:
                return
            self._arrivals = _ArrivalReader(self.connection)
            self.rfile = io.BufferedReader(self._arrivals)

    def parse_request(self) -> bool:
        # The request line has just been read: the request's arrival, for the rate limit (the
        # kernel's receive time when known, else now). As (time.monotonic(), time.time()).
        now, wall = time.monotonic(), time.time()
        received = self._arrivals.received if self._arrivals else None
        if received is not None and 0 <= wall - received < 60:
            now, wall = now - (wall - received), received
        self.arrived = (now, wall)
        return super().parse_request()

    def log_message(self, format, *args):
        if self.server.verbose:
            sys.stderr.write(f"[sandbox] {self.address_string()} {format % args}\n")

    # -- plumbing ----------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    raise _BodyTooLarge
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise _BodyTooLarge
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, method: str, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        body = response.body or b""
        if response.content_type and body:
            self.send_header("Content-Type", response.content_type)
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if method != "HEAD" and body and response.status not in (204, 304):
            self.wfile.write(body)

    def _drop_connection(self) -> None:
        """Close the socket without an answer, as a proxy timeout or a crash would."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(2)
        except OSError:
            pass

    # -- dispatch ----------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        parsed = urlsplit(self.path)
        path = unquote(parsed.path) or "/"
        pairs = parse_qsl(parsed.query, keep_blank_values=True)
        try:
            body = self._read_body()
        except (_BodyTooLarge, ValueError):
            self.close_connection = True
            self._send(
                method, problem_response(413, "Payload Too Large", "The request body is too large.")
            )
            return
        try:
            guard = self.guard
            if path in ("/", "/index.html"):
                if method not in ("GET", "HEAD"):
                    raise ApiError(405, "Method Not Allowed", "The page is read-only.")
                query = dict(pairs)
                guard.check(method=method, headers=self.headers, query=query, body=b"", page=True)
                html = page.render(self.state, token=None if guard.open else query.get("token"))
                self._send(method, Response(200, html.encode(), "text/html; charset=utf-8"))
                return
            if path == "/_sandbox" or path.startswith("/_sandbox/"):
                guard.check(method=method, headers=self.headers, query=dict(pairs), body=body)
                self._send(method, self._hooks(method, path, pairs, body))
                return
        except ApiError as error:
            self._send(method, error.response(path))
            return
        except Exception:  # a bug in the sandbox: say so loudly
            traceback.print_exc()
            self._send(
                method, problem_response(500, "Sandbox error", traceback.format_exc(limit=3))
            )
            return

        match = _PREFIX_RE.match(path)
        if match is None:  # a request target that is not a path
            self._send(method, ApiError(404, bare=True).response(path))
            return
        rest = match.group("rest")
        env = "demo" if match.group("demo") else "prod"
        lowered = rest.lower().rstrip("/")
        if lowered in ("/v2/onboarding/initiate", "/v2/onboarding/finalize", "/onboarding/consent"):
            self._send(method, self._onboarding(method, lowered, pairs, body))
        elif lowered == "/oauth/token":
            self._gateway(method, path, "/OAuth/Token", env, pairs, body, token=True)
        elif lowered == "/v2" or lowered.startswith("/v2/"):
            self._gateway(method, path, rest[3:] or "/", env, pairs, body, token=False)
        else:
            self._send(method, empty_response(404))

    def _onboarding(self, method: str, lowered: str, pairs, body: bytes) -> Response:
        if lowered == "/onboarding/consent":
            if method not in ("GET", "POST"):
                return empty_response(405)
            return onboarding.consent(self.state, method, dict(pairs), body)
        if method != "POST":
            return empty_response(405)
        if lowered.endswith("/initiate"):
            base_url = f"http://{self.headers.get('Host') or '127.0.0.1'}"
            return onboarding.initiate(self.state, base_url, body)
        return onboarding.finalize(self.state, body)

    def _hooks(self, method: str, path: str, pairs, body: bytes) -> Response:
        parsed = None
        pairs = [(k, v) for k, v in pairs if k != "token"]
        if body.strip():
            parsed = _json_or_none(body)
            if parsed is None:
                raise ApiError(400, "Sandbox hook error", "The hook body must be JSON.")
        return hooks.handle(self.state, method, path.rstrip("/"), dict(pairs), parsed)

    # -- the PowerOffice side ----------------------------------------------------------------

    def _gateway(self, method, path, route, env, pairs, body, *, token: bool) -> None:
        state = self.state
        started = time.monotonic()
        subscription_key = self.headers.get("Ocp-Apim-Subscription-Key")
        client = self._peek_client(token)
        entry = {
            "time": now_iso(),
            "method": method,
            "path": path,
            "target": self.path,  # as received: path and query, percent-encoded
            "route": route,
            "env": env,
            "query": dict(pairs),
            "status": None,
            "client_id": client and client["client_id"],
            "client": client and client["name"],
            "client_name": client and client["name"],
            "body": self._logged_body(body, token),
            "body_text": None,
            "response": None,
            "fault": None,
        }
        if not token and body and len(body) <= LOGGED_TEXT_BYTES and entry["body"] is not None:
            content_type = (self.headers.get("Content-Type") or "").lower()
            if "json" in content_type:
                entry["body_text"] = body.decode("utf-8", "replace")
        logged = False
        try:
            # PowerOffice's gateway counts a request against the rate limit when it arrives,
            # whenever it is answered: here, when its request line came in, plus the jitter
            # (network delay variation, at random up to latency_jitter_ms) it would have had
            # on the way.
            latency = state.config["latency_ms"]
            jitter = state.config.get("latency_jitter_ms") or 0
            extra = random.uniform(0, jitter) / 1000 if jitter else 0.0
            arrived_at, arrived_wall = (t + extra for t in self.arrived)
            entry["arrived"] = datetime.fromtimestamp(arrived_wall, UTC).isoformat()
            if latency or extra:
                time.sleep(latency / 1000 + extra)
            client_id = client["client_id"] if client else None
            fault = state.match_fault(
                method=method, route=route, client_id=client_id, when="before"
            )
            response = None
            if fault:
                entry["fault"] = {"id": fault["id"], "action": fault["action"], "when": "before"}
                if fault["action"] == "close":
                    logged = self._log(entry, started)
                    self._drop_connection()
                    return
                if fault["action"] == "delay":
                    time.sleep(fault["delay_ms"] / 1000)
                else:
                    response = _fault_response(fault)
            if response is None:
                response = self._answer(
                    method, path, route, env, pairs, body, token, subscription_key, arrived_at
                )
                after = state.match_fault(
                    method=method, route=route, client_id=client_id, when="after"
                )
                if after:
                    entry["fault"] = {"id": after["id"], "action": after["action"], "when": "after"}
                    if after["action"] == "close":
                        entry["status"] = response.status
                        logged = self._log(entry, started)
                        self._drop_connection()
                        return
                    if after["action"] == "delay":
                        time.sleep(after["delay_ms"] / 1000)
                    else:
                        response = _fault_response(after)
            entry["status"] = response.status
            if method != "GET" or response.status >= 400:
                entry["response"] = response.payload
            # Logged before the answer leaves, so a client that reads the log right after its
            # answer finds the call there.
            logged = self._log(entry, started)
            try:
                self._send(method, response)
            except OSError:
                entry["fault"] = entry["fault"] or {"action": "client went away"}
        finally:
            if not logged:
                self._log(entry, started)

    def _answer(
        self, method, path, route, env, pairs, body, token, subscription_key, arrived_at: float
    ) -> Response:
        """The gateway's checks (a subscription key it knows, its rate limit), then PowerOffice's
        answer."""
        state = self.state
        if not subscription_key or not state.known_subscription_key(subscription_key):
            return subscription_refused_response(missing=not subscription_key)
        retry = state.rate_hit(subscription_key, at=arrived_at)
        if retry:
            return rate_limited_response(retry)
        return self._process(method, path, route, env, pairs, body, token, subscription_key)

    def _log(self, entry: dict, started: float) -> bool:
        entry["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        self.state.log_request(entry)
        return True

    def _peek_client(self, token: bool) -> dict | None:
        """The client a request is for, before judging its credentials (for the log and faults)."""
        authorization = self.headers.get("Authorization") or ""
        scheme, _, value = authorization.partition(" ")
        if token and scheme.lower() == "basic":
            keys = basic_keys(value.strip())
            return self.state.clients.get(keys[1]) if keys else None
        if not token and scheme.lower() == "bearer":
            return self.state.token_client(value.strip())
        return None

    def _logged_body(self, body: bytes, token: bool):
        if not body:
            return None
        content_type = (self.headers.get("Content-Type") or "").lower()
        if token:
            form = parse_qs(body.decode("latin-1"))
            grant_types = form.get("grant_type")
            return {"grant_type": grant_types[0] if grant_types else None}
        if content_type.startswith("multipart/"):
            return {"multipart": True, "size": len(body)}
        return _json_or_none(body)

    def _process(self, method, path, route, env, pairs, body, token, subscription_key) -> Response:
        try:
            if token:
                return issue_token(
                    self.state,
                    method=method,
                    env=env,
                    headers=self.headers,
                    body=body,
                    subscription_key=subscription_key,
                )
            return router.dispatch(
                self.state,
                method=method,
                path=path,
                route=route,
                env=env,
                pairs=pairs,
                headers=self.headers,
                body=body,
                subscription_key=subscription_key,
            )
        except ApiError as error:
            return error.response(path)
        except Exception:
            traceback.print_exc()
            return problem_response(500, "Sandbox error", traceback.format_exc(limit=3))


def _fault_response(fault: dict) -> Response:
    status = int(fault["status"])
    if status == 429:
        response = rate_limited_response(1)
    elif isinstance(fault.get("body"), dict | list):
        response = json_response(status, fault["body"])
    elif isinstance(fault.get("body"), str):
        response = Response(status, fault["body"].encode(), "text/plain; charset=utf-8")
    elif status >= 500:
        response = json_response(
            status,
            {
                "statusCode": status,
                "message": "The service is temporarily unavailable (injected fault).",
            },
        )
    else:
        response = empty_response(status)
    return response


class SandboxServer(ThreadingHTTPServer):
    server_address: tuple[str, int]
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, state: SandboxState, *, guard: HookGuard, verbose: bool = False):
        super().__init__(address, SandboxHandler)
        self.state = state
        self.guard = guard
        self.verbose = verbose

    def server_bind(self) -> None:
        # Set on the listening socket, the receive times reach each accepted connection's first
        # request too (which may be waiting before the handler starts).
        if SO_TIMESTAMPNS is not None:
            with contextlib.suppress(OSError):
                self.socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        super().server_bind()


@dataclass
class SandboxHandle:
    url: str
    state: SandboxState
    server: SandboxServer
    thread: threading.Thread

    @property
    def api_url(self) -> str:
        return self.url + "/v2"

    @property
    def hook_token(self) -> str | None:
        """The token the hooks ask for (None when the sandbox runs with its hooks open)."""
        return self.server.guard.token

    @property
    def hook_headers(self) -> dict[str, str]:
        """Headers for a hook call: the token (if any) and JSON."""
        headers = {"Content-Type": "application/json"}
        if self.hook_token:
            headers[TOKEN_HEADER] = self.hook_token
        return headers

    @property
    def token_url(self) -> str:
        return self.url + "/OAuth/Token"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.state.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def make_server(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    rate_limit: float = 10,
    latency_ms: int = 0,
    latency_jitter_ms: int = 0,
    token_lifetime: int = 1200,
    read_lag_ms: int = 0,
    state_file: str | None = None,
    verbose: bool = False,
    hook_token: str | None = None,
    demo_open: bool = False,
    allowed_hosts: tuple[str, ...] = (),
) -> SandboxServer:
    """A sandbox server (not started). Its hooks need ``hook_token``, a new random one when not
    given, unless ``demo_open``: then anyone who reaches it on this machine may use them."""
    state = SandboxState(
        rate_limit=rate_limit,
        latency_ms=latency_ms,
        latency_jitter_ms=latency_jitter_ms,
        token_lifetime=token_lifetime,
        read_lag_ms=read_lag_ms,
        state_file=state_file,
    )
    token = None if demo_open else (hook_token or secrets.token_urlsafe(24))
    guard = HookGuard.build(token=token, bind_host=host, allowed_hosts=allowed_hosts)
    return SandboxServer((host, port), state, guard=guard, verbose=verbose)


def server_url(server: SandboxServer) -> str:
    host, port = server.server_address[:2]
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def start_sandbox(**options) -> SandboxHandle:
    """Start the sandbox in a daemon thread; ``port=0`` picks a free port."""
    server = make_server(**options)
    thread = threading.Thread(target=server.serve_forever, name="poweroffice-sandbox", daemon=True)
    thread.start()
    return SandboxHandle(url=server_url(server), state=server.state, server=server, thread=thread)
