"""System D under benchmark: the product ASGI app, plus candidate fixes when the env asks.

With no BENCH_* variables set this is exactly `chatproject.asgi:application`.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from bench.patches import install  # noqa: E402
from chatproject.asgi import application  # noqa: E402

install()

__all__ = ["application"]
