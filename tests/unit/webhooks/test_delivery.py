from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from domain.webhooks import delivery, events, schedule, signing
from domain.webhooks.delivery import DeliveryOutcome, deliver


def _signed(secrets, event="video.analysis.succeeded", data=None):
    body = events.build_payload(event, data or {"analysis_id": "an_1"}, datetime.now(UTC))
    msg_id = signing.new_message_id()
    headers = signing.build_headers(msg_id, datetime.now(UTC), body, secrets)
    return body, headers


def test_receiver_verifies_with_standardwebhooks(receiver):
    secret = signing.generate_secret()
    receiver.secrets = [secret]
    body, headers = _signed([secret], data={"analysis_id": "an_1", "status": "succeeded"})

    out = deliver(receiver.url("/verify"), body, headers, allow_private=True, timeout_s=5)

    assert out == DeliveryOutcome(status_code=204, delivered=True, latency_ms=out.latency_ms)
    rec = receiver.requests[0]
    assert rec["verified_with"] == [secret]
    assert rec["payload"]["type"] == "video.analysis.succeeded"
    assert rec["payload"]["data"] == {"analysis_id": "an_1", "status": "succeeded"}
    assert rec["body"] == body
    assert rec["headers"]["content-type"] == "application/json"


def test_rotation_overlap_both_secrets_verify_over_http(receiver):
    old, new = signing.generate_secret(), signing.generate_secret()
    receiver.secrets = [old, new]  # the route verifies with each, one by one
    body, headers = _signed(signing.active_secrets(new, old))

    out = deliver(receiver.url("/verify"), body, headers, allow_private=True, timeout_s=5)

    assert out.delivered
    assert receiver.requests[0]["verified_with"] == [old, new]


def test_wrong_secret_is_rejected_by_receiver(receiver):
    receiver.secrets = [signing.generate_secret()]
    body, headers = _signed([signing.generate_secret()])
    out = deliver(receiver.url("/verify"), body, headers, allow_private=True, timeout_s=5)
    assert not out.delivered
    assert out.status_code == 401
    assert out.error_code == "http_error"


def test_500_is_a_failure(receiver):
    out = deliver(receiver.url("/status/500"), b"{}", {}, allow_private=True, timeout_s=5)
    assert out.delivered is False
    assert out.status_code == 500
    assert out.error_code == "http_error"
    assert "500" in out.error_message
    assert out.response_excerpt == "status 500"
    assert out.disable_endpoint is False


@pytest.mark.parametrize("code", [100 + 99, 202, 299])
def test_any_2xx_is_delivered(receiver, code):
    out = deliver(receiver.url(f"/status/{code}"), b"{}", {}, allow_private=True, timeout_s=5)
    assert out.delivered is (200 <= code < 300)


def test_410_asks_to_disable_endpoint(receiver):
    out = deliver(receiver.url("/status/410"), b"{}", {}, allow_private=True, timeout_s=5)
    assert not out.delivered
    assert out.disable_endpoint is True
    assert out.error_code == "http_error"


def test_redirect_is_not_followed(receiver):
    out = deliver(receiver.url("/redirect"), b"{}", {}, allow_private=True, timeout_s=5)
    assert not out.delivered
    assert out.status_code == 301
    assert out.error_code == "redirect_refused"
    assert "/verify" in out.error_message
    assert [r["path"] for r in receiver.requests] == ["/redirect"]


def test_retry_after_is_reported(receiver):
    out = deliver(
        receiver.url("/status/503?retry_after=120"), b"{}", {}, allow_private=True, timeout_s=5
    )
    assert out.status_code == 503
    assert out.retry_after_s == 120.0
    delay = schedule.next_attempt_delay(1, retry_after_s=out.retry_after_s, jitter=0)
    assert delay == 120.0


def test_hanging_receiver_times_out(receiver):
    t0 = time.monotonic()
    out = deliver(receiver.url("/hang"), b"{}", {}, allow_private=True, timeout_s=1.0)
    elapsed = time.monotonic() - t0
    assert out.error_code == "timeout"
    assert out.delivered is False and out.status_code is None
    assert 0.9 <= elapsed < 2.0


def test_receiver_trickling_headers_cannot_block_past_deadline(receiver):
    t0 = time.monotonic()
    out = deliver(receiver.url("/trickle-headers"), b"{}", {}, allow_private=True, timeout_s=1.0)
    elapsed = time.monotonic() - t0
    assert out.error_code == "timeout"
    assert not out.delivered
    assert elapsed < 2.0


def test_receiver_trickling_body_cannot_block_past_deadline(receiver):
    t0 = time.monotonic()
    out = deliver(receiver.url("/trickle-body"), b"{}", {}, allow_private=True, timeout_s=1.0)
    elapsed = time.monotonic() - t0
    assert out.status_code == 500 and out.error_code == "http_error"
    assert elapsed < 2.0
    assert 0 < out.response_bytes_read < 100


def test_huge_body_is_not_read_past_cap(receiver):
    cap = 64 * 1024
    t0 = time.monotonic()
    out = deliver(
        receiver.url("/huge"), b"{}", {}, allow_private=True, timeout_s=5, max_response_bytes=cap
    )
    assert time.monotonic() - t0 < 3.0
    assert out.delivered and out.status_code == 200
    assert out.response_bytes_read == cap
    assert out.response_excerpt == "A" * 1024
    deadline = time.monotonic() + 3
    while receiver.huge_sent is None and time.monotonic() < deadline:
        time.sleep(0.02)
    # the sender stopped early (socket closed); only kernel buffers were filled
    assert receiver.huge_sent is not None and receiver.huge_sent < 64 * 1024 * 1024


def test_connection_refused_is_connection_error():
    with socket.socket() as s:  # find a closed port
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = deliver(f"http://127.0.0.1:{port}/", b"{}", {}, allow_private=True, timeout_s=2)
    assert out.error_code == "connection_error"
    assert out.status_code is None and not out.delivered
    assert out.error_message


def test_unsafe_url_refused_at_delivery_time():
    out = deliver("http://127.0.0.1:9/", b"{}", {}, allow_private=False, timeout_s=2)
    assert out.error_code == "unsafe_url"
    assert "loopback" in out.error_message


def test_dns_rebinding_checked_at_delivery_time():
    def rebinding_resolver(host, port, *a, **kw):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]

    out = deliver(
        "https://hooks.clinic.example/wh", b"{}", {}, allow_private=False,
        timeout_s=2, resolver=rebinding_resolver,
    )
    assert out.error_code == "unsafe_url"
    assert "metadata" in out.error_message


def test_connects_to_pinned_ip_with_original_host_header(receiver):
    port = receiver.server_address[1]
    calls = []

    def resolver(host, port_, *a, **kw):
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port_))]

    out = deliver(
        f"http://receiver.clinic.test:{port}/status/200", b"{}", {}, allow_private=True,
        timeout_s=5, resolver=resolver,
    )
    assert out.delivered
    assert calls == ["receiver.clinic.test"]  # resolved once, by us
    assert receiver.requests[0]["headers"]["host"] == f"receiver.clinic.test:{port}"


def test_slow_dns_counts_against_deadline():
    def slow_resolver(*a, **kw):
        time.sleep(3)
        return []

    t0 = time.monotonic()
    out = deliver("http://slow.example/", b"{}", {}, allow_private=True, timeout_s=0.5,
                  resolver=slow_resolver)
    assert out.error_code == "timeout"
    assert time.monotonic() - t0 < 1.5


def test_retry_loop_runs_in_seconds_with_scaled_schedule(receiver):
    """Worker-style loop: fail, back off per schedule, succeed on the 3rd attempt."""
    secret = signing.generate_secret()
    body = events.build_payload("batch.completed", {"batch_id": "b1"}, datetime.now(UTC))
    msg_id = signing.new_message_id()
    sched = schedule.scaled_schedule(schedule.DEFAULT_RETRY_SCHEDULE, 0.001)  # 5 s -> 5 ms
    attempt, outcomes = 0, []
    t0 = time.monotonic()
    while True:
        attempt += 1
        headers = signing.build_headers(msg_id, datetime.now(UTC), body, [secret])
        out = deliver(receiver.url("/flaky?ok_after=3"), body, headers,
                      allow_private=True, timeout_s=2)
        outcomes.append(out)
        if out.delivered:
            break
        delay = schedule.next_attempt_delay(attempt, sched, retry_after_s=out.retry_after_s)
        assert delay is not None
        time.sleep(delay)
    assert [o.status_code for o in outcomes] == [503, 503, 200]
    assert time.monotonic() - t0 < 10
    assert {r["headers"]["webhook-id"] for r in receiver.requests} == {msg_id}


def test_standardwebhooks_verifies_built_headers_directly():
    secret = signing.generate_secret()
    body, headers = _signed([secret])
    assert Webhook(secret).verify(body, headers)["type"] == "video.analysis.succeeded"


def test_outcome_error_codes_are_constants():
    assert {
        delivery.ERROR_TIMEOUT, delivery.ERROR_CONNECTION, delivery.ERROR_REDIRECT,
        delivery.ERROR_HTTP, delivery.ERROR_UNSAFE_URL,
    } == {"timeout", "connection_error", "redirect_refused", "http_error", "unsafe_url"}


def test_falls_back_to_next_vetted_address(receiver):
    port = receiver.server_address[1]

    def resolver(host, port_, *a, **kw):  # 127.0.0.2 has no listener -> refused
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port_))
                for ip in ("127.0.0.2", "127.0.0.1")]

    out = deliver(f"http://multi.clinic.test:{port}/status/200", b"{}", {},
                  allow_private=True, timeout_s=5, resolver=resolver)
    assert out.delivered, out


def test_localhost_name_allowed_for_tests(receiver):
    port = receiver.server_address[1]
    out = deliver(f"http://localhost:{port}/status/200", b"{}", {}, allow_private=True,
                  timeout_s=5)
    assert out.delivered, out


def test_all_addresses_refused_is_connection_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = deliver(f"http://localhost:{port}/", b"{}", {}, allow_private=True, timeout_s=2)
    assert out.error_code == "connection_error"
    assert "refused" in out.error_message.lower()
