"""Test settings: the real settings module, fed the environment a test run needs."""

import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("JWT_SECRET", "test-jwt-secret-not-for-production-0123456789")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="parley-test-media-"))

from chatproject.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = [
    # Fast rounds keep the suite quick; production strength is asserted in test_passwords.
    "tests.hashers.FastBCryptSHA256PasswordHasher",
    "accounts.hashing.PooledBCryptSHA256PasswordHasher",
]

# Chat writes run inline in the caller's thread and transaction, so the test transaction sees them;
# tests of the writer thread itself turn it on (tests/messaging/test_writer.py).
DATABASE_WRITER_THREAD = False

# Static files are served from the source folders in tests (no collectstatic run needed).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
os.makedirs(STATIC_ROOT, exist_ok=True)  # noqa: F405
