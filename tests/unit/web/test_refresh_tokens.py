"""Refresh tokens: rules (pure) and the service on a migrated database (SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select

from domain import auth_tokens
from domain.accounts import decode_token, issue_token
from domain.auth_tokens import RefreshRejected, RefreshState, refresh_state
from models import RefreshToken, User
from tests.unit.db.conftest import database_url, migrated  # noqa: F401  (fixtures)

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
TTL = 3600


def test_token_is_256_random_bits_and_only_its_sha256_is_kept():
    token = auth_tokens.new_refresh_token()
    assert token.startswith("rt_") and len(token) >= 3 + 43
    assert token != auth_tokens.new_refresh_token()
    digest = auth_tokens.hash_refresh_token(token)
    assert len(digest) == 64 and token not in digest


@pytest.mark.parametrize(("kwargs", "state"), [
    ({"found": False}, RefreshState.UNKNOWN),
    ({"found": True, "expires_at": NOW + dt.timedelta(seconds=1)}, RefreshState.VALID),
    ({"found": True, "expires_at": NOW}, RefreshState.EXPIRED),
    ({"found": True, "expires_at": NOW.replace(tzinfo=None) + dt.timedelta(seconds=5)},
     RefreshState.VALID),  # SQLite hands times back naive: they are UTC
    ({"found": True, "expires_at": NOW + dt.timedelta(hours=1), "used_at": NOW},
     RefreshState.REUSED),
    ({"found": True, "expires_at": NOW - dt.timedelta(hours=1), "used_at": NOW},
     RefreshState.REUSED),  # an expired, used token presented again is still reuse
    ({"found": True, "expires_at": NOW + dt.timedelta(hours=1), "used_at": NOW,
      "revoked_at": NOW}, RefreshState.REVOKED),
    ({"found": True, "expires_at": NOW + dt.timedelta(hours=1), "token_version": 0,
      "user_token_version": 1}, RefreshState.STALE),
])
def test_refresh_state(kwargs, state):
    assert refresh_state(now=NOW, **kwargs) is state


def test_access_token_carries_its_session():
    token = issue_token("k" * 40, "u1", 3, 60, session_id="s1")
    claims = decode_token("k" * 40, token)
    assert (claims.user_id, claims.token_version, claims.session_id) == ("u1", 3, "s1")
    assert decode_token("k" * 40, issue_token("k" * 40, "u1", 3, 60)).session_id is None


def _user(session, email: str = "r@example.com") -> User:
    user = User(email=email, password_hash="x", role="patient")
    session.add(user)
    session.commit()
    return user


def _active(session, session_id: str, user: User) -> bool:
    """Whether an access token of this sign-in session still authenticates the user."""
    return auth_tokens.token_user(session, user.id, user.token_version, session_id) is not None


def test_token_user_checks_user_version_and_session_in_one_query(migrated):  # noqa: F811
    session = migrated()
    user, other_user = _user(session), _user(session, "other@example.com")
    signed_in = auth_tokens.start_session(session, user, NOW, TTL)
    theirs = auth_tokens.start_session(session, other_user, NOW, TTL)
    session.commit()
    version = user.token_version
    assert auth_tokens.token_user(session, user.id, version, signed_in.session_id).id == user.id
    assert auth_tokens.token_user(session, user.id, version, None).id == user.id  # no session
    assert auth_tokens.token_user(session, user.id, version + 1, signed_in.session_id) is None
    assert auth_tokens.token_user(session, user.id, version, theirs.session_id) is None
    assert auth_tokens.token_user(session, user.id, version, "no-such-session") is None
    assert auth_tokens.token_user(session, "no-such-user", version, None) is None
    session.close()


def test_rotation_reuse_and_logout(migrated):  # noqa: F811
    session = migrated()
    user = _user(session)
    first = auth_tokens.start_session(session, user, NOW, TTL)
    session.commit()
    stored = session.scalars(select(RefreshToken.token_hash)).all()
    assert stored == [auth_tokens.hash_refresh_token(first.token)]  # never the token itself

    same_user, second = auth_tokens.rotate(session, first.token, NOW, TTL)
    assert same_user.id == user.id and second.family_id == first.family_id
    assert second.token != first.token
    assert _active(session, first.session_id, user)  # its access token too
    assert _active(session, second.session_id, user)

    with pytest.raises(RefreshRejected) as reused:  # the old one stopped working...
        auth_tokens.rotate(session, first.token, NOW, TTL)
    assert reused.value.state is RefreshState.REUSED
    with pytest.raises(RefreshRejected) as revoked:  # ...and its reuse ended the whole family
        auth_tokens.rotate(session, second.token, NOW, TTL)
    assert revoked.value.state is RefreshState.REVOKED
    assert not _active(session, second.session_id, user)

    other = auth_tokens.start_session(session, user, NOW, TTL)  # another sign-in is untouched
    session.commit()
    assert _active(session, other.session_id, user)
    assert auth_tokens.end_session(session, other.session_id, NOW) == 1
    session.commit()
    assert not _active(session, other.session_id, user)
    with pytest.raises(RefreshRejected):
        auth_tokens.rotate(session, other.token, NOW, TTL)
    session.close()


def test_expired_unknown_and_password_change(migrated):  # noqa: F811
    session = migrated()
    user = _user(session)
    issued = auth_tokens.start_session(session, user, NOW, TTL)
    session.commit()
    with pytest.raises(RefreshRejected) as late:
        auth_tokens.rotate(session, issued.token, NOW + dt.timedelta(seconds=TTL + 1), TTL)
    assert late.value.state is RefreshState.EXPIRED
    with pytest.raises(RefreshRejected) as unknown:
        auth_tokens.rotate(session, "rt_not-a-token", NOW, TTL)
    assert unknown.value.state is RefreshState.UNKNOWN

    fresh = auth_tokens.start_session(session, user, NOW, TTL)
    user.token_version += 1  # password changed
    session.commit()
    with pytest.raises(RefreshRejected) as stale:
        auth_tokens.rotate(session, fresh.token, NOW, TTL)
    assert stale.value.state is RefreshState.STALE
    session.close()


def test_account_deletion_removes_its_tokens(migrated):  # noqa: F811
    session = migrated()
    user = _user(session)
    auth_tokens.start_session(session, user, NOW, TTL)
    session.commit()
    session.execute(delete(User).where(User.id == user.id))  # as DELETE /me: ON DELETE CASCADE
    session.commit()
    assert session.scalars(select(RefreshToken)).all() == []
    session.close()
