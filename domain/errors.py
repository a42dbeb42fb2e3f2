"""Errors the domain raises on purpose: a stable code, a message for humans, an HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    http_status = 422

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if http_status:
            self.http_status = http_status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
