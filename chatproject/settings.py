"""Parley settings: everything comes from the environment (a `.env` file is read when present)."""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from chatproject.production import production_settings_check

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")


# A variable set to "" (a blank line in .env) means "use the default": it must never
# silently turn a security default such as the Secure cookie flag off.
def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return value in {"1", "true", "yes", "on"} if value else default


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

# A development key is fine while debugging; production must bring its own secrets.
_DEV_SECRET = "insecure-dev-only-key-do-not-use-in-production-0123456789abcdef"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (production mode)."
        )
    SECRET_KEY = _DEV_SECRET
JWT_SECRET = os.environ.get("JWT_SECRET", "")
if not JWT_SECRET:
    if not DEBUG:
        raise ImproperlyConfigured("JWT_SECRET must be set when DJANGO_DEBUG is off.")
    JWT_SECRET = SECRET_KEY
# Secrets JWT_SECRET replaced: their tokens still verify, nothing new is signed with them.
JWT_PREVIOUS_SECRETS = env_list("JWT_PREVIOUS_SECRETS")
JWT_LIFETIME = timedelta(days=7)
JWT_COOKIE_NAME = "jwt"
JWT_COOKIE_SECURE = env_bool("JWT_COOKIE_SECURE", not DEBUG)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
if not DEBUG:  # placeholder secrets or "*" hosts stop start-up (docs/AUTH.md, Production)
    production_settings_check(
        secrets={"DJANGO_SECRET_KEY": SECRET_KEY, "JWT_SECRET": JWT_SECRET},
        allowed_hosts=ALLOWED_HOSTS,
    )
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
PORT = env_int("PORT", 8000)

MONGO_URI = os.environ.get("MONGO_URI") or os.environ.get("MONGODB_URI") or ""
REDIS_URL = os.environ.get("REDIS_URL", "")

INSTALLED_APPS = [
    "daphne",
    *(
        [
            "django_mongodb_backend",
            "chatproject.mongo_apps.MongoAdminConfig",
            "chatproject.mongo_apps.MongoAuthConfig",
            "chatproject.mongo_apps.MongoContentTypesConfig",
        ]
        if MONGO_URI
        else [
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
        ]
    ),
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "ninja",  # Swagger UI for /api/docs from its bundled static files, not a CDN
    "accounts",
    "messaging",
    "attachments",
    "search",
    "safety",
]

# Django's and WhiteNoise's middleware as subclasses that run on the event loop under ASGI
# (chatproject/loop_middleware.py, docs/PERFORMANCE.md); same behaviour, no thread hops.
MIDDLEWARE = [
    "chatproject.loop_middleware.SecurityMiddleware",
    "chatproject.loop_middleware.WhiteNoiseMiddleware",
    "chatproject.middleware.ContentSecurityPolicyMiddleware",
    "chatproject.middleware.CrossSiteWriteMiddleware",
    # Before anything reads a request body: large uploads wait for a decode slot first.
    "chatproject.image_slots.DecodeSlotMiddleware",
    "chatproject.loop_middleware.SessionMiddleware",
    "chatproject.loop_middleware.CommonMiddleware",
    "chatproject.loop_middleware.CsrfViewMiddleware",
    "chatproject.loop_middleware.AuthenticationMiddleware",
    "accounts.middleware.JWTCookieMiddleware",
    "chatproject.loop_middleware.MessageMiddleware",
    "chatproject.loop_middleware.XFrameOptionsMiddleware",
    # Last, so its 400 page knows the user; nothing above reads query strings or bodies.
    "chatproject.middleware.TextInputMiddleware",
]
# Django looks for its security, clickjacking and CSRF middleware by exact path; the subclasses
# above are checked by chatproject/checks.py instead, which also runs the settings checks.
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003"]

ROOT_URLCONF = "chatproject.urls"
ASGI_APPLICATION = "chatproject.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite (WAL) by default, MongoDB when MONGO_URI is set -------------------------
if MONGO_URI:
    DATABASES = {
        "default": {
            "ENGINE": "django_mongodb_backend",
            "HOST": MONGO_URI,
            "NAME": os.environ.get("MONGO_DB_NAME")
            or urlparse(MONGO_URI).path.strip("/")
            or "parley",
        }
    }
    DEFAULT_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"
    MIGRATION_MODULES = {
        app: f"mongo_migrations.{app}"
        for app in (
            "admin",
            "auth",
            "contenttypes",
            "sessions",
            "accounts",
            "messaging",
            "attachments",
            "safety",
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # WAL lets readers run while one writer commits; IMMEDIATE avoids
                # "database is locked" upgrades when two processes write at once.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Request threads are lent from a pool (chatproject/request_threads.py), so a
            # connection kept by one serves the next request instead of being opened (three
            # PRAGMAs) and closed around every sync request. Threads the pool lets go close theirs.
            "CONN_MAX_AGE": int(os.environ.get("DB_CONN_MAX_AGE", "300")),
            "CONN_HEALTH_CHECKS": True,
        }
    }
    DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Django's own logins (the admin's) go through the same credential limiter as the API's.
AUTHENTICATION_BACKENDS = ["accounts.backends.LimitedModelBackend"]
PASSWORD_HASHERS = [
    # bcrypt over a SHA-256 digest accepts any length (plain bcrypt 5 raises past 72 bytes).
    # Django's hashers, run on a bounded thread pool (accounts/hashing.py, docs/AUTH.md).
    "accounts.hashing.PooledBCryptSHA256PasswordHasher",
    "accounts.hashing.PooledPBKDF2PasswordHasher",
]
PASSWORD_MIN_LENGTH = 6

# --- Cache (rate limits), channel layer and presence: in-process by default, Redis with REDIS_URL
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "chatproject.cache.SharedRedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {
            # The pub/sub layer: no idle-socket timeouts or 100-connection pool cap under
            # redis-py 8, and about twice as fast here as the core RedisChannelLayer. Ours
            # also reports a broken subscription, so sockets that missed events reconnect.
            "BACKEND": "messaging.layer.WatchedRedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Realtime (docs/REALTIME.md) -----------------------------------------------------------------
PRESENCE_TTL = float(os.environ.get("PRESENCE_TTL", "30"))  # a socket unrefreshed this long is gone
PRESENCE_HEARTBEAT = float(os.environ.get("PRESENCE_HEARTBEAT", "10"))  # refresh + sweep period
TYPING_TTL = float(os.environ.get("TYPING_TTL", "5"))  # typing stops unless the client refreshes
# Online-list changes within this many seconds go out as one send of the newest list.
PRESENCE_BROADCAST_WINDOW = float(os.environ.get("PRESENCE_BROADCAST_WINDOW", "1"))
WS_MAX_FRAME_BYTES = env_int("WS_MAX_FRAME_BYTES", 8192)  # bigger client frames close the socket
WS_EVENTS_PER_SECOND = env_int("WS_EVENTS_PER_SECOND", 20)  # per user, all tabs and processes
WS_FLOOD_CLOSE_AFTER = env_int("WS_FLOOD_CLOSE_AFTER", 50)  # refused events in 10 s, then close

# --- Hot path (docs/PERFORMANCE.md) -------------------------------------------------------------
# Chat writes go through one thread per process with a persistent connection (group commit).
DATABASE_WRITER_THREAD = env_bool("DATABASE_WRITER_THREAD", True)
# Writes waiting for that thread before new sends are refused with 503 (overload, not loss).
WRITER_QUEUE_MAX = env_int("WRITER_QUEUE_MAX", 500)
# "Delivered" receipts are gathered this long per process and recorded together.
RECEIPT_FLUSH_DELAY = float(os.environ.get("RECEIPT_FLUSH_DELAY", "").strip() or 0.05)

# --- Authentication (docs/AUTH.md) -------------------------------------------------------------
# Seconds a process keeps a user's row for token checks (0: read it on every request).
USER_CACHE_TTL = float(os.environ.get("USER_CACHE_TTL", "").strip() or 60)
# Threads hashing passwords, process-wide (each takes a core for ~0.2 s per login).
PASSWORD_HASH_WORKERS = env_int("PASSWORD_HASH_WORKERS", 1)
# Logins waiting for those threads before more are refused with 503 and Retry-After.
PASSWORD_HASH_QUEUE_MAX = env_int("PASSWORD_HASH_QUEUE_MAX", 64)

# --- Safety: the directory, blocks, reports (docs/SAFETY.md) --------------------------------------
# Who a partial name/email search finds: "all" (everyone active, the seed's behaviour) or
# "contacts" (people who share a conversation with the searcher); an exact email finds anyone.
DIRECTORY_VISIBLE = os.environ.get("DIRECTORY_VISIBLE", "").strip().lower() or "all"
if DIRECTORY_VISIBLE not in {"all", "contacts"}:
    raise ImproperlyConfigured('DIRECTORY_VISIBLE must be "all" or "contacts".')
CONTACTS_MAX = env_int("CONTACTS_MAX", 500)  # people GET /api/messages/users lists at most
BLOCK_CACHE_TTL = env_int("BLOCK_CACHE_TTL", 300)  # seconds; invalidated at once on change
BLOCK_CACHE_SIZE = env_int("BLOCK_CACHE_SIZE", 50_000)  # users' block sets kept per process
REPORT_RATE_PER_USER = env_int("REPORT_RATE_PER_USER", 10)  # reports per window
REPORT_RATE_WINDOW = env_int("REPORT_RATE_WINDOW", 3600)  # seconds

# --- Limits -------------------------------------------------------------------------------------
GROUP_MAX_MEMBERS = env_int("GROUP_MAX_MEMBERS", 256)
REACTIONS_MAX_KINDS = env_int("REACTIONS_MAX_KINDS", 20)  # different emoji on one message
REACTION_RATE_PER_USER = env_int("REACTION_RATE_PER_USER", 30)  # toggles per window
REACTION_RATE_WINDOW = env_int("REACTION_RATE_WINDOW", 10)  # seconds
# Password checks (login, admin login, password change): accounts/limits.py, docs/AUTH.md.
LOGIN_RATE_PER_ACCOUNT_IP = env_int("LOGIN_RATE_PER_ACCOUNT_IP", 5)  # failures per account+address
LOGIN_RATE_PER_ACCOUNT = env_int("LOGIN_RATE_PER_ACCOUNT", 100)  # failures per account, any address
LOGIN_RATE_PER_IP = env_int("LOGIN_RATE_PER_IP", 30)  # attempts per window
LOGIN_RATE_WINDOW = env_int("LOGIN_RATE_WINDOW", 900)  # seconds
SIGNUP_RATE_PER_IP = env_int("SIGNUP_RATE_PER_IP", 20)
MESSAGE_RATE_PER_USER = env_int("MESSAGE_RATE_PER_USER", 30)  # messages sent per window
MESSAGE_RATE_WINDOW = env_int("MESSAGE_RATE_WINDOW", 10)  # seconds
PROFILE_UPDATE_RATE_PER_USER = env_int("PROFILE_UPDATE_RATE_PER_USER", 10)  # per window
PROFILE_UPDATE_RATE_WINDOW = env_int("PROFILE_UPDATE_RATE_WINDOW", 60)  # seconds
SEARCH_RATE_PER_USER = env_int("SEARCH_RATE_PER_USER", 30)  # message searches per window
SEARCH_RATE_WINDOW = env_int("SEARCH_RATE_WINDOW", 10)  # seconds
IMAGE_MAX_BYTES = env_int("IMAGE_MAX_BYTES", 5 * 1024 * 1024)
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 40_000_000)  # width x height a file may claim
# What one decode may hold, in 4-byte pixels (64 MB); times the slots below, it bounds the
# memory uploads can take in one process (docs/PERFORMANCE.md, "Image uploads").
IMAGE_DECODE_MAX_PIXELS = env_int("IMAGE_DECODE_MAX_PIXELS", 16_000_000)
IMAGE_DECODE_CONCURRENCY = env_int("IMAGE_DECODE_CONCURRENCY", 2)  # decodes at once, per process
# Seconds an upload waits for a decode slot before the API answers 503.
IMAGE_DECODE_WAIT = float(os.environ.get("IMAGE_DECODE_WAIT", "").strip() or 10)
# --- File attachments (docs/MESSAGING.md, "Attachments") ----------------------------------------
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)
# Large file uploads parsed at once, per process; the others wait (IMAGE_DECODE_WAIT, then 503).
ATTACHMENT_UPLOAD_CONCURRENCY = env_int("ATTACHMENT_UPLOAD_CONCURRENCY", 2)
# MIME types a file may have (decided from its bytes, not the client's claim). Programs, scripts,
# HTML, SVG and XML are refused whatever this says (attachments/checks.py).
ATTACHMENT_TYPES = env_list(
    "ATTACHMENT_TYPES",
    ",".join(
        [
            "application/pdf",
            "text/plain",
            "text/csv",
            "text/tab-separated-values",
            "text/markdown",
            "application/zip",
            "application/x-7z-compressed",
            "application/x-tar",
            "application/gzip",
            "application/x-bzip2",
            "application/x-xz",
            "application/rtf",
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.oasis.opendocument.text",
            "application/vnd.oasis.opendocument.spreadsheet",
            "application/vnd.oasis.opendocument.presentation",
            "application/epub+zip",
            "audio/mpeg",
            "audio/mp4",
            "audio/aac",
            "audio/ogg",
            "audio/x-wav",
            "audio/x-flac",
            "video/mp4",
            "video/quicktime",
            "video/webm",
            "video/x-matroska",
        ]
    ),
)
ATTACHMENT_RATE_PER_USER = env_int("ATTACHMENT_RATE_PER_USER", 20)  # uploads per window
ATTACHMENT_RATE_WINDOW = env_int("ATTACHMENT_RATE_WINDOW", 60)  # seconds
ATTACHMENT_UNSENT_TTL = env_int("ATTACHMENT_UNSENT_TTL", 3600)  # seconds an unsent upload is kept
ATTACHMENT_URL_TTL = env_int("ATTACHMENT_URL_TTL", 60)  # seconds a Cloudinary download URL lives
# JSON bodies carry base64 images: 4/3 of the image cap plus room for the rest.
DATA_UPLOAD_MAX_MEMORY_SIZE = IMAGE_MAX_BYTES * 4 // 3 + 64 * 1024

# --- Media: local MEDIA_ROOT by default, Cloudinary when configured ---------------------------
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Either CLOUDINARY_URL (cloudinary://KEY:SECRET@CLOUD) or all three CLOUDINARY_* variables.
# The cloudinary SDK reads CLOUDINARY_URL itself; django-cloudinary-storage takes the three
# from CLOUDINARY_STORAGE. Half a configuration is refused rather than silently ignored.
CLOUDINARY_URL = os.environ.get("CLOUDINARY_URL", "").strip()
if CLOUDINARY_URL and not CLOUDINARY_URL.startswith("cloudinary://"):
    raise ImproperlyConfigured("CLOUDINARY_URL must look like cloudinary://KEY:SECRET@CLOUD_NAME.")
_cloudinary_parts = {
    "CLOUD_NAME": os.environ.get("CLOUDINARY_CLOUD_NAME", "").strip(),
    "API_KEY": os.environ.get("CLOUDINARY_API_KEY", "").strip(),
    "API_SECRET": os.environ.get("CLOUDINARY_API_SECRET", "").strip(),
}
_cloudinary_missing = [f"CLOUDINARY_{key}" for key, value in _cloudinary_parts.items() if not value]
if 0 < len(_cloudinary_missing) < 3:
    raise ImproperlyConfigured(
        f"Cloudinary is half configured: set {', '.join(_cloudinary_missing)} too, "
        "or remove them and use CLOUDINARY_URL alone."
    )
CLOUDINARY_STORAGE = _cloudinary_parts if not _cloudinary_missing else {}
USE_CLOUDINARY = bool(CLOUDINARY_URL or CLOUDINARY_STORAGE)
# Seconds an avatar/image upload may take before the API answers 503 instead of hanging.
CLOUDINARY_UPLOAD_TIMEOUT = float(os.environ.get("CLOUDINARY_UPLOAD_TIMEOUT", "").strip() or 20)
_static_backend = (
    "whitenoise.storage.CompressedManifestStaticFilesStorage"
    if env_bool("STATIC_MANIFEST", not DEBUG)
    else "django.contrib.staticfiles.storage.StaticFilesStorage"
)
STORAGES = {
    "default": {
        "BACKEND": "chatproject.storage.CloudinaryMediaStorage"
        if USE_CLOUDINARY
        else "django.core.files.storage.FileSystemStorage"
    },
    "staticfiles": {"BACKEND": _static_backend},
}
if USE_CLOUDINARY:
    # django-cloudinary-storage must come after staticfiles so collectstatic stays Django's.
    INSTALLED_APPS.insert(
        INSTALLED_APPS.index("django.contrib.staticfiles") + 1, "cloudinary_storage"
    )
    INSTALLED_APPS.append("cloudinary")

# --- Security -----------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Only behind a reverse proxy that sets X-Forwarded-For itself.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)
CSRF_FAILURE_VIEW = "chatproject.urls.csrf_failure"
