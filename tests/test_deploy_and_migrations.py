"""Production settings and migrations, checked in fresh processes with a controlled environment.

Each test runs `manage.py` (or Python) with only the variables it sets: the test run's own
settings (which fill in secrets) and a developer's `.env` never leak in, because every
relevant variable is passed explicitly ("" counts as unset for the settings and stops
python-dotenv from filling it from `.env`).
"""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.checks import JWT_SECRET_IS_SECRET_KEY, JWT_SECRET_WEAK
from chatproject.production import ALLOWED_HOSTS_WILDCARD, PLACEHOLDER_SECRET

ROOT = Path(__file__).resolve().parent.parent
CONTROLLED = (
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "JWT_SECRET",
    "JWT_COOKIE_SECURE",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_HSTS_SECONDS",
    "STATIC_MANIFEST",
    "MONGO_URI",
    "MONGODB_URI",
    "REDIS_URL",
    "CLOUDINARY_URL",
    "CLOUDINARY_CLOUD_NAME",
    "CLOUDINARY_API_KEY",
    "CLOUDINARY_API_SECRET",
)


def production_env(**overrides: str) -> dict[str, str]:
    """What an operator sets in production: debug off, strong secrets, a real host name."""
    env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    env.update(dict.fromkeys(CONTROLLED, ""))
    env.update(
        DJANGO_SETTINGS_MODULE="chatproject.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        JWT_SECRET=secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="chat.example.com",
    )
    env.update(overrides)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run(["manage.py", *args], env)


# --- migrations ---------------------------------------------------------------------------------
def test_sqlite_migrations_are_current():
    """`makemigrations --check --dry-run` with the default (SQLite) settings finds nothing."""
    result = manage("makemigrations", "--check", "--dry-run", env=production_env(DJANGO_DEBUG="1"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_mongo_migrations_are_current():
    """The MongoDB migration set (dummy-engine settings, no server needed) is current too."""
    env = production_env(
        DJANGO_DEBUG="1",
        DJANGO_SETTINGS_MODULE="chatproject.settings_mongo_migrations",
        MONGO_URI="mongodb://127.0.0.1:1/parley",
    )
    result = manage("makemigrations", "--check", "--dry-run", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout
    # ...and those settings really are the Mongo ones, not SQLite's under another name.
    probe = run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings as s;"
            "print(s.MIGRATION_MODULES['accounts'], s.DEFAULT_AUTO_FIELD)",
        ],
        env,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == [
        "mongo_migrations.accounts",
        "django_mongodb_backend.fields.ObjectIdAutoField",
    ]


# --- production settings ------------------------------------------------------------------------
def test_check_deploy_is_clean_in_production():
    """`check --deploy --fail-level WARNING` passes with a production environment."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_weak_secrets():
    """The deploy check fails on a short SECRET_KEY and a short or reused JWT_SECRET."""
    weak = production_env(DJANGO_SECRET_KEY="too-short", JWT_SECRET="too-short")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=weak)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "security.W009" in output
    assert JWT_SECRET_WEAK in output
    assert JWT_SECRET_IS_SECRET_KEY in output


def test_check_deploy_still_checks_the_security_middleware_settings():
    """Our hop-free subclasses of Django's middleware keep Django's own deploy checks working:
    HSTS off, no HTTPS redirect, framing allowed and an insecure CSRF cookie are still flagged."""
    env = production_env(DJANGO_HSTS_SECONDS="0", DJANGO_SECURE_SSL_REDIRECT="0")
    probe = (
        "import django, sys; django.setup();"
        "from django.conf import settings;"
        "settings.X_FRAME_OPTIONS = 'SAMEORIGIN'; settings.CSRF_COOKIE_SECURE = False;"
        "from django.core.management import call_command;"
        "call_command('check', deploy=True, fail_level='ERROR')"
    )
    result = run(["-c", probe], env)
    output = result.stdout + result.stderr
    for warning in ("security.W004", "security.W008", "security.W019", "security.W016"):
        assert warning in output, output
    for missing in ("security.W001", "security.W002", "security.W003"):
        assert missing not in output, output


@pytest.mark.parametrize(
    "missing,complaint",
    [
        ("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY must be set"),
        ("JWT_SECRET", "JWT_SECRET must be set"),
    ],
)
def test_production_refuses_to_start_without_secrets(missing, complaint):
    """With debug off, a missing secret stops start-up instead of using a known default."""
    result = run(["-c", "import django; django.setup()"], production_env(**{missing: ""}))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr


def env_example_value(name: str) -> str:
    """The (commented-out) value `.env.example` shows for `name`."""
    text = (ROOT / ".env.example").read_text()
    match = re.search(rf"^#?\s*{name}=(\S+)", text, re.MULTILINE)
    assert match, f"{name} is not in .env.example"
    return match.group(1)


SECRETS = ("DJANGO_SECRET_KEY", "JWT_SECRET")
PLACEHOLDERS = [
    *((name, env_example_value(name)) for name in SECRETS),  # copied as they are
    ("DJANGO_SECRET_KEY", "CHANGE_ME_0123456789abcdefghijklmnopqrstuvwxyz"),  # padded to pass W009
    ("JWT_SECRET", "please-changeme-" + "x7Kq" * 10),
    ("JWT_SECRET", "replace-me-with-a-long-random-string-0123456789"),
    ("DJANGO_SECRET_KEY", "django-insecure-" + "a1b2c3d4e5" * 5),  # startproject's dev key
]


@pytest.mark.parametrize(("name", "value"), PLACEHOLDERS)
def test_production_refuses_to_start_with_placeholder_secrets(name, value):
    """With debug off, a secret left as the .env.example placeholder stops start-up, naming it."""
    result = run(["-c", "import django; django.setup()"], production_env(**{name: value}))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert PLACEHOLDER_SECRET.format(name=name) in result.stderr
    assert value not in result.stderr  # the message never echoes a secret


def test_debug_mode_accepts_the_env_example_placeholders():
    """A developer who copies .env.example as it is can still run the app with debug on."""
    env = production_env(DJANGO_DEBUG="1", **{name: env_example_value(name) for name in SECRETS})
    result = run(["-c", "import django; django.setup()"], env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("hosts", ["*", "chat.example.com,*"])
def test_production_refuses_to_start_with_any_host_allowed(hosts):
    """`DJANGO_ALLOWED_HOSTS=*` with debug off stops start-up: any Host header would be accepted."""
    result = manage("check", env=production_env(DJANGO_ALLOWED_HOSTS=hosts))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert ALLOWED_HOSTS_WILDCARD in result.stderr


def test_debug_mode_may_allow_any_host():
    """Developers may still use `*` (phones on the LAN, tunnels) while debugging."""
    env = production_env(DJANGO_DEBUG="1", DJANGO_ALLOWED_HOSTS="*")
    result = manage("check", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cookie_security_follows_debug():
    """`jwt` is Secure in production (even with JWT_COOKIE_SECURE blank) and not in debug."""
    script = "import django; django.setup(); from django.conf import settings as s;" + (
        "print(s.DEBUG, s.JWT_COOKIE_SECURE, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    )
    production = run(["-c", script], production_env())
    debug = run(
        ["-c", script], production_env(DJANGO_DEBUG="1", DJANGO_SECRET_KEY="", JWT_SECRET="")
    )
    assert production.stdout.split() == ["False", "True", "True", "True"], production.stderr
    assert debug.stdout.split() == ["True", "False", "False", "False"], debug.stderr
