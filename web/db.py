"""One database session per request, closed when the request ends."""

from __future__ import annotations

from flask import g
from sqlalchemy.orm import Session

from models.db import get_sessionmaker


def db_session() -> Session:
    if "db" not in g:
        g.db = get_sessionmaker()()
    return g.db


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
