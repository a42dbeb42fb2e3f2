"""A service's refusal (DomainError) answered as the contract's error shape."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from domain.errors import DomainError
from web.errors import ApiError


@contextmanager
def answered_as_api_errors() -> Iterator[None]:
    """Run service calls whose DomainError carries the status and code the client should see."""
    try:
        yield
    except DomainError as exc:
        raise ApiError(exc.http_status, exc.code, exc.message,
                       errors=getattr(exc, "errors", None)) from None

