"""The shared Redis cache client, tried here first, is now the app's default (chatproject/cache.py).

Kept as an alias so the `D-cache` variant and older result files still name a real backend.
"""

from chatproject.cache import SharedRedisCache

__all__ = ["SharedRedisCache"]
