"""Settings for app servers under benchmark: the real settings, plus a channel-layer switch.

`BENCH_CHANNEL_LAYER=core` swaps in channels-redis' core `RedisChannelLayer` (with
`socket_timeout=None`, which redis-py 8 needs for idle connections) so it can be compared
with the default pub/sub layer. `BENCH_CONN_MAX_AGE=<seconds>|none` tries persistent database
connections. Nothing else differs from production.
"""

import os

from chatproject.settings import *  # noqa: F403
from chatproject.settings import REDIS_URL

if REDIS_URL and os.environ.get("BENCH_CHANNEL_LAYER") == "core":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}]},
        }
    }

_conn_age = os.environ.get("BENCH_CONN_MAX_AGE")
if _conn_age:
    DATABASES["default"]["CONN_MAX_AGE"] = None if _conn_age == "none" else int(_conn_age)  # noqa: F405
