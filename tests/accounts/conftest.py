"""Fixtures and assertions for the accounts tests (users and clients: tests/conftest.py)."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpResponse

from accounts.models import User

USER_KEYS = {"_id", "fullName", "email", "profilePic", "createdAt", "updatedAt", "lastSeen"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SAME_ORIGIN = "http://testserver"  # the Django test client's host
FOREIGN_ORIGIN = "https://evil.example"


def assert_user_json(data: dict[str, Any], user: User | None = None) -> None:
    """The contract's User shape, for `user` when given; never a password or its hash."""
    assert set(data) == USER_KEYS
    assert isinstance(data["_id"], str)
    assert ISO_UTC.match(data["createdAt"]) and ISO_UTC.match(data["updatedAt"])
    if user is not None:
        assert data["_id"] == str(user.pk)
        assert data["email"] == user.email
        assert data["fullName"] == user.full_name


def assert_no_password(response: HttpResponse, user: User | None = None) -> None:
    """Neither the hash nor anything that looks like one is in the body."""
    body = response.content.decode()
    assert "password" not in body.lower()
    assert "bcrypt" not in body and "pbkdf2" not in body
    if user is not None:
        user.refresh_from_db()
        assert user.password not in body


def jwt_of(response: HttpResponse) -> str:
    """The token a response sets in the `jwt` cookie ("" when it clears it)."""
    assert "jwt" in response.cookies, "the response sets no jwt cookie"
    return response.cookies["jwt"].value


@pytest.fixture
def media_root(settings) -> Path:  # noqa: ANN001 - pytest-django fixture
    """MEDIA_ROOT (a temporary directory for the test session; the app serves it at /media/)."""
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def stored_files(media_root: Path) -> Callable[[], list[Path]]:
    """Files added under MEDIA_ROOT since the test started (so: what this test stored)."""

    def files() -> set[Path]:
        return {path for path in media_root.rglob("*") if path.is_file()}

    before = files()
    return lambda: sorted(files() - before)
