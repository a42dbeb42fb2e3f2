"""One bounded webhook delivery attempt over HTTP(S).

* ``allow_redirects=False``: a 3xx is a failure (``redirect_refused``).
* Only 2xx counts as delivered; 410 asks the caller to disable the endpoint.
* A hard total deadline of ``timeout_s`` covers DNS, connect, TLS, sending,
  response headers and reading the body: a watchdog shuts the socket down when it
  expires, so a receiver that hangs or trickles bytes cannot hold the worker.
* The host is re-resolved and re-vetted (SSRF/DNS rebinding) and the connection
  is made to that vetted IP, keeping the host name for ``Host``/SNI/certificate.
* At most ``max_response_bytes`` of the body are read; nothing is decompressed.
"""

from __future__ import annotations

import contextvars
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util.connection import create_connection

from .schedule import parse_retry_after
from .urls import ResolvedTarget, UnsafeURLError, resolve_target

#: the spec asks senders to wait 15-30 s for an answer
DEFAULT_TIMEOUT_S = 15.0
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_BYTES = 1024
USER_AGENT = "webhooks-sender/1.0 (Standard Webhooks)"

ERROR_TIMEOUT = "timeout"
ERROR_CONNECTION = "connection_error"
ERROR_REDIRECT = "redirect_refused"
ERROR_HTTP = "http_error"
ERROR_UNSAFE_URL = "unsafe_url"


@dataclass(frozen=True)
class DeliveryOutcome:
    status_code: int | None
    delivered: bool
    latency_ms: int
    error_code: str | None = None
    error_message: str | None = None
    retry_after_s: float | None = None
    disable_endpoint: bool = False
    response_excerpt: str | None = None
    response_bytes_read: int = 0


# --------------------------------------------------------------------------- deadline


class _Attempt:
    """Per-delivery connection context: the vetted addresses to connect to and
    the sockets opened so far. ``expire()`` shuts the sockets down, which wakes
    any thread blocked on them; sockets opened after expiry are refused."""

    def __init__(self, addresses: tuple[str, ...] = ()) -> None:
        self.addresses = addresses
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self.expired = False

    def register(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            if not self.expired:
                self._socks.append(sock)
                return sock
        _shutdown(sock)
        sock.close()
        raise TimeoutError("webhook delivery deadline exceeded")

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            socks = list(self._socks)
        for sock in socks:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


_CURRENT_ATTEMPT: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar(
    "webhook_delivery_attempt", default=None
)


def _open_socket(conn: HTTPConnection, default: Callable[[], socket.socket]) -> socket.socket:
    """Connect to the attempt's vetted addresses in order (never resolving the
    host name again); without an attempt context fall back to urllib3's own."""
    attempt = _CURRENT_ATTEMPT.get()
    if attempt is None:
        return default()
    if not attempt.addresses:
        return attempt.register(default())
    last: OSError | None = None
    for address in attempt.addresses:
        if attempt.expired:
            break
        try:
            sock = create_connection(
                (address, conn.port),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except OSError as exc:  # includes socket.timeout
            last = exc
            continue
        return attempt.register(sock)
    if isinstance(last, TimeoutError):
        raise ConnectTimeoutError(conn, f"connection to {conn.host} timed out") from last
    raise NewConnectionError(conn, f"failed to establish a new connection: {last}") from last


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _open_socket(self, super()._new_conn)


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _open_socket(self, super()._new_conn)


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """No retries; connections made during :func:`deliver` go to the vetted IPs
    (the URL's host name is still used for ``Host``, TLS SNI and certificate
    checks) and are cut when the delivery deadline expires."""

    def __init__(self) -> None:
        super().__init__(max_retries=0, pool_connections=1, pool_maxsize=1)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


def make_session() -> requests.Session:
    """A session for :func:`deliver`: ignores proxy/netrc environment settings
    and mounts :class:`GuardedAdapter` for http and https."""
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# --------------------------------------------------------------------------- helpers


def _call_with_timeout(
    fn: Callable[[], Any], timeout_s: float
) -> tuple[bool, Any, BaseException | None]:
    """Run ``fn`` in a daemon thread; (finished, result, exception)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            box["error"] = exc

    thread = threading.Thread(target=run, name="webhook-resolve", daemon=True)
    thread.start()
    thread.join(max(0.0, timeout_s))
    if thread.is_alive():
        return False, None, None
    return True, box.get("result"), box.get("error")


def _describe(exc: BaseException) -> str:
    reason: BaseException = exc
    for _ in range(5):  # unwrap requests -> urllib3 MaxRetryError -> reason
        inner = reason.args[0] if reason.args else None
        if isinstance(reason, MaxRetryError) and reason.reason is not None:
            reason = reason.reason
        elif isinstance(inner, BaseException):
            reason = inner
        else:
            break
    text = str(reason) or type(reason).__name__
    # urllib3 prefixes "<ConnectionClass>(host=..., port=...): "; drop that noise
    text = re.sub(r"^<?\w+(?: object at 0x[0-9a-f]+>|\(host=[^)]*\)): ", "", text)
    return text[:300]


def _excerpt(data: bytes) -> str | None:
    if not data:
        return None
    text = data[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    return "".join(c if c.isprintable() or c in "\n\t" else "\ufffd" for c in text)


# --------------------------------------------------------------------------- deliver


class _Clock:
    """Time since the attempt started, and failed outcomes stamped with it."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed_ms(self) -> int:
        return round((time.monotonic() - self.start) * 1000)

    def remaining(self, timeout_s: float) -> float:
        return max(0.001, timeout_s - (time.monotonic() - self.start))

    def fail(self, code: str, message: str, **kw: Any) -> DeliveryOutcome:
        return DeliveryOutcome(status_code=kw.pop("status_code", None), delivered=False,
                               latency_ms=self.elapsed_ms(), error_code=code,
                               error_message=message, **kw)


def _resolve(url: str, clock: _Clock, timeout_s: float, allow_private: bool,
             resolver: Callable[..., list]) -> ResolvedTarget | DeliveryOutcome:
    """Step 1: re-resolve and vet the host (bounded by the deadline)."""
    done, target, error = _call_with_timeout(
        lambda: resolve_target(url, allow_private=allow_private, resolver=resolver),
        timeout_s,
    )
    if not done:
        return clock.fail(ERROR_TIMEOUT, f"DNS resolution took longer than {timeout_s:g} s")
    if isinstance(error, UnsafeURLError):
        code = ERROR_CONNECTION if error.code == "unresolvable_host" else ERROR_UNSAFE_URL
        return clock.fail(code, str(error))
    if error is not None:
        return clock.fail(ERROR_CONNECTION, f"resolution failed: {_describe(error)}")
    assert isinstance(target, ResolvedTarget)
    return target


def _post(session: requests.Session, target: ResolvedTarget, body: bytes,
          headers: Mapping[str, str], attempt: _Attempt, clock: _Clock,
          timeout_s: float) -> requests.Response | DeliveryOutcome:
    """Step 2: send the request; returns once the status line and headers are in."""
    request_headers = {
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",
        "Connection": "close",
        **dict(headers),
    }
    remaining = clock.remaining(timeout_s)
    token = _CURRENT_ATTEMPT.set(attempt)
    try:
        response = session.post(
            target.url,
            data=body,
            headers=request_headers,
            timeout=(remaining, remaining),
            allow_redirects=False,
            stream=True,
        )
    except requests.Timeout as exc:
        return clock.fail(ERROR_TIMEOUT, f"no response within {timeout_s:g} s ({_describe(exc)})")
    except Exception as exc:  # noqa: BLE001 - any transport failure is a failed attempt
        if attempt.expired:
            return clock.fail(ERROR_TIMEOUT, f"no response within {timeout_s:g} s")
        return clock.fail(ERROR_CONNECTION, _describe(exc))
    finally:
        _CURRENT_ATTEMPT.reset(token)
    return response


def _read_body(response: requests.Response, attempt: _Attempt, max_bytes: int) -> bytes:
    """Step 3: at most ``max_bytes`` of the body, within the deadline."""
    buf = bytearray()
    try:
        while len(buf) < max_bytes and not attempt.expired:
            want = min(16 * 1024, max_bytes - len(buf))
            chunk = response.raw.read1(want, decode_content=False)
            if not chunk:
                break
            buf += chunk
    except Exception:  # noqa: BLE001, S110 - the status line decides the outcome
        pass
    return bytes(buf[:max_bytes])


def _judge(response: requests.Response, data: bytes, clock: _Clock) -> DeliveryOutcome:
    """Step 4: 2xx delivered; redirects are refused; other statuses failed (410 disables)."""
    status = response.status_code
    excerpt = _excerpt(data)
    if 200 <= status < 300:
        return DeliveryOutcome(status_code=status, delivered=True,
                               latency_ms=clock.elapsed_ms(), response_excerpt=excerpt,
                               response_bytes_read=len(data))
    common: dict[str, Any] = {
        "status_code": status,
        "retry_after_s": parse_retry_after(response.headers.get("Retry-After"),
                                           datetime.now(UTC)),
        "response_excerpt": excerpt,
        "response_bytes_read": len(data),
    }
    if 300 <= status < 400:
        location = (response.headers.get("Location") or "")[:200]
        where = f" to {location}" if location else ""
        return clock.fail(
            ERROR_REDIRECT,
            f"HTTP {status} redirect{where} not followed; register the final URL instead",
            **common,
        )
    reason = (response.reason or "")[:100]
    message = f"HTTP {status} {reason}".strip()
    if status == 410:
        message += "; endpoint asked to stop deliveries (410 Gone)"
    return clock.fail(ERROR_HTTP, message, disable_endpoint=(status == 410), **common)


def deliver(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    allow_private: bool,
    session: requests.Session | None = None,
    resolver: Callable[..., list] = socket.getaddrinfo,
) -> DeliveryOutcome:
    """POST ``body`` with ``headers`` to ``url``; never raises for network or
    HTTP problems and never takes (much) longer than ``timeout_s``.

    ``session``: optional, for tests or custom TLS settings. IP pinning and the
    hard deadline only work with sessions from :func:`make_session` (other
    sessions resolve the host themselves and rely on per-operation timeouts).
    Normally leave it ``None``: a fresh session is used and closed.
    """
    clock = _Clock()
    attempt = _Attempt()
    timer = threading.Timer(timeout_s, attempt.expire)
    timer.daemon = True
    timer.start()
    own_session = session is None
    response = None
    try:
        target = _resolve(url, clock, timeout_s, allow_private, resolver)
        if isinstance(target, DeliveryOutcome):
            return target
        attempt.addresses = target.addresses
        if own_session:
            session = make_session()
        response = _post(session, target, body, headers, attempt, clock, timeout_s)
        if isinstance(response, DeliveryOutcome):
            outcome, response = response, None
            return outcome
        if attempt.expired:
            # The watchdog cut the connection while the status line/headers were
            # still arriving; whatever was parsed is not a real answer.
            return clock.fail(ERROR_TIMEOUT, f"no complete response within {timeout_s:g} s")
        return _judge(response, _read_body(response, attempt, max_response_bytes), clock)
    finally:
        timer.cancel()
        if response is not None:
            try:
                response.close()
            except Exception:  # noqa: BLE001, S110 - best-effort cleanup
                pass
        if own_session and session is not None:
            session.close()
