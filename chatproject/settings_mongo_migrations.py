"""Settings for generating/checking the MongoDB migrations without a MongoDB server.

makemigrations opens a connection to check history consistency; the dummy engine has no
server to wait for, while the app configs and MIGRATION_MODULES are exactly the Mongo ones.
"""

import os

os.environ.setdefault("MONGO_URI", "mongodb://127.0.0.1:1/parley")
os.environ.setdefault("DJANGO_DEBUG", "1")

from chatproject.settings import *  # noqa: E402,F403

DATABASES = {"default": {"ENGINE": "django.db.backends.dummy"}}
