"""ASGI entry point for Daphne: HTTP through Django, WebSockets through Channels."""

import os

import django

from chatproject.memory import memory_keep_big_blocks_apart

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
memory_keep_big_blocks_apart()  # RSS shrinks back after a burst of uploads
django.setup(set_prefix=False)  # what get_asgi_application() does before making its handler

from chatproject.request_threads import PooledThreadsASGIHandler  # noqa: E402

django_asgi_app = PooledThreadsASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chatproject.origin import WebsocketOriginValidator  # noqa: E402
from messaging.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": WebsocketOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
