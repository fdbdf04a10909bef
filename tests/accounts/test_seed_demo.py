"""`manage.py seed_demo`: demo users that can log in, created once however often it runs."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.management.commands.seed_demo import (
    ADMIN,
    DEMO_PASSWORD,
    DEMO_USERS,
    REFUSED_IN_PRODUCTION,
)
from accounts.models import User


@pytest.fixture(autouse=True)
def _debug_mode(settings):  # noqa: ANN001
    """Demo users are a development convenience: `make run` seeds them in debug mode."""
    settings.DEBUG = True


def test_production_mode_refuses_to_seed_the_published_password(db, settings):  # noqa: ANN001
    """With debug off nothing is created unless the operator insists."""
    settings.DEBUG = False
    with pytest.raises(CommandError, match=REFUSED_IN_PRODUCTION[:40]):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()
    call_command("seed_demo", "--allow-production", stdout=StringIO())
    assert User.objects.filter(email=ADMIN[0], is_superuser=True).exists()


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _snapshot() -> list[tuple]:
    return list(
        User.objects.order_by("email").values_list(
            "pk", "email", "full_name", "password", "is_staff", "is_superuser", "token_version"
        )
    )


def test_seed_twice_gives_the_same_users(db):
    """The second run creates nothing and changes nothing (same ids, same hashes)."""
    first = _seed()
    after_first = _snapshot()
    second = _seed()
    assert _snapshot() == after_first
    assert [row[1] for row in after_first] == sorted(e for e, _ in [*DEMO_USERS, ADMIN])
    assert f"Created {len(DEMO_USERS) + 1} user(s)." in first
    assert "Created 0 user(s)." in second


def test_seed_prints_the_logins(db):
    """The output lists every demo email and the shared password."""
    out = _seed()
    assert DEMO_PASSWORD in out
    for email, _ in [*DEMO_USERS, ADMIN]:
        assert email in out


def test_seeded_users_can_log_in_and_only_the_admin_is_staff(api, db):
    """Every demo login works through the API; only the admin account is staff."""
    _seed()
    for email, _ in [*DEMO_USERS, ADMIN]:
        response = api.call("post", "/api/auth/login", {"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 200, email
    admin = User.objects.get(email=ADMIN[0])
    assert admin.is_staff and admin.is_superuser
    assert User.objects.filter(is_staff=True).count() == 1


def test_seed_leaves_existing_accounts_alone(make_user):
    """A demo address someone already uses keeps its password and name."""
    make_user(email=DEMO_USERS[0][0], full_name="Real Person", password="their-own-pw")
    _seed()
    user = User.objects.get(email=DEMO_USERS[0][0])
    assert user.full_name == "Real Person"
    assert user.check_password("their-own-pw")


def test_dry_run_creates_nothing(db):
    """--dry-run reports what it would create and writes nothing."""
    out = _seed("--dry-run")
    assert f"Would create {len(DEMO_USERS) + 1} user(s)." in out
    assert not User.objects.exists()


def test_quiet_run_prints_nothing(db):
    """--verbosity 0 is silent, for scripts."""
    out = StringIO()
    call_command("seed_demo", verbosity=0, stdout=out)
    assert out.getvalue() == ""
    assert User.objects.count() == len(DEMO_USERS) + 1
