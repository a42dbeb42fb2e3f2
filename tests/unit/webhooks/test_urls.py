from __future__ import annotations

import socket

import pytest

from domain.webhooks.urls import (
    UnsafeURLError,
    forbidden_reason,
    resolve_target,
    validate_url,
)


def fake_resolver(*addresses):
    def resolve(host, port, *a, **kw):
        return [
            (socket.AF_INET6 if ":" in a_ else socket.AF_INET, socket.SOCK_STREAM, 6, "",
             (a_, port)) for a_ in addresses
        ]
    return resolve


def failing_resolver(host, port, *a, **kw):
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


PUBLIC = fake_resolver("93.184.216.34")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1/hook", "forbidden_address"),
        ("http://10.0.0.1/hook", "forbidden_address"),
        ("http://172.16.5.4/", "forbidden_address"),
        ("http://192.168.1.1/", "forbidden_address"),
        ("http://169.254.169.254/latest/meta-data/", "forbidden_address"),
        ("http://[::1]/", "forbidden_address"),
        ("http://[::ffff:127.0.0.1]/", "forbidden_address"),
        ("http://[::ffff:169.254.169.254]/", "forbidden_address"),
        ("http://[fd00::1]/", "forbidden_address"),
        ("http://[fe80::1]/", "forbidden_address"),
        ("http://0.0.0.0/", "forbidden_address"),
        ("http://100.64.0.1/", "forbidden_address"),
        ("http://224.0.0.1/", "forbidden_address"),
        ("http://240.0.0.1/", "forbidden_address"),
        ("http://localhost/", "forbidden_address"),
        ("http://2130706433/", "forbidden_address"),  # decimal 127.0.0.1
        ("ftp://x/", "unsupported_scheme"),
        ("file:///etc/passwd", "unsupported_scheme"),
        ("javascript://x/%0aalert(1)", "unsupported_scheme"),
        ("not a url", "invalid_url"),
        ("example.com/hook", "invalid_url"),
        ("", "invalid_url"),
        ("http://", "missing_host"),
        ("http:///path", "missing_host"),
        ("http://user:pw@host.example/", "credentials_in_url"),
        ("http://user@host.example/", "credentials_in_url"),
        ("http://[::1/", "invalid_url"),
        ("http://host.example:99999/", "invalid_url"),
        ("http://host.example:0/", "invalid_url"),
        ("http://exa mple.com/", "invalid_url"),
    ],
)
def test_refused(url, code):
    with pytest.raises(UnsafeURLError) as exc:
        validate_url(url, allow_private=False)
    assert exc.value.code == code
    assert exc.value.message


def test_non_string_refused():
    with pytest.raises(UnsafeURLError) as exc:
        validate_url(None, allow_private=False)  # type: ignore[arg-type]
    assert exc.value.code == "invalid_url"


def test_public_host_accepted():
    assert validate_url("https://hooks.clinic.example/wh?x=1", allow_private=False,
                        resolver=PUBLIC) == "https://hooks.clinic.example/wh?x=1"


@pytest.mark.parametrize(
    "addresses",
    [("10.1.2.3",), ("93.184.216.34", "127.0.0.1"), ("2001:db8::1",), ("fd12:3456::1",),
     ("169.254.169.254",), ("::ffff:10.0.0.1",), ("2002:a00:1::1",), ("64:ff9b::a9fe:a9fe",)],
)
def test_hostname_resolving_to_forbidden_address_refused(addresses):
    with pytest.raises(UnsafeURLError) as exc:
        validate_url("https://evil.example/", allow_private=False,
                     resolver=fake_resolver(*addresses))
    assert exc.value.code == "forbidden_address"


def test_metadata_reason_is_named():
    assert "metadata" in forbidden_reason("169.254.169.254")
    assert "metadata" in forbidden_reason("fd00:ec2::254")
    assert forbidden_reason("93.184.216.34") is None
    assert forbidden_reason("2606:2800:220:1::1") is None


def test_metadata_hostname_refused_without_lookup():
    with pytest.raises(UnsafeURLError) as exc:
        validate_url("http://metadata.google.internal/", allow_private=False, resolver=PUBLIC)
    assert exc.value.code == "forbidden_address"


def test_unresolvable_host():
    with pytest.raises(UnsafeURLError) as exc:
        validate_url("https://nope.invalid/", allow_private=False, resolver=failing_resolver)
    assert exc.value.code == "unresolvable_host"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "http://localhost:5000/", "http://[::1]:9000/x",
            "http://10.0.0.1/"],
)
def test_loopback_and_private_allowed_when_configured(url):
    assert validate_url(url, allow_private=True, resolver=failing_resolver) == url


@pytest.mark.parametrize("url", ["ftp://x/", "not a url", "http://user:pw@host/", "http://"])
def test_allow_private_still_checks_scheme_and_host(url):
    with pytest.raises(UnsafeURLError):
        validate_url(url, allow_private=True)


def test_resolve_target_pins_vetted_address():
    target = resolve_target("https://Hooks.Clinic.Example./wh", allow_private=False,
                            resolver=fake_resolver("93.184.216.34", "93.184.216.35"))
    assert target.host == "hooks.clinic.example"
    assert target.port == 443 and target.scheme == "https"
    assert target.ip == "93.184.216.34"
    assert target.addresses == ("93.184.216.34", "93.184.216.35")


def test_resolve_target_rebinding_detected():
    # registration saw a public address, delivery time sees a private one
    validate_url("https://rebind.example/", allow_private=False, resolver=PUBLIC)
    with pytest.raises(UnsafeURLError):
        resolve_target("https://rebind.example/", allow_private=False,
                       resolver=fake_resolver("10.0.0.5"))
