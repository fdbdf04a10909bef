"""Safety tests reuse the messaging fixtures (messages, groups, sockets, recorded events)."""

from tests.messaging.conftest import (  # noqa: F401
    _no_one_online,
    chat_media,
    fast_realtime,
    group_post,
    make_group,
    make_message,
    open_socket,
    png_data_url,
    sent_events,
)
