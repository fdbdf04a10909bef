"""With Redis unreachable, chatting over REST degrades (no live events) but nothing fails."""

import pytest

from messaging.models import Message
from tests.servers import free_port


@pytest.fixture
def redis_unreachable(settings):  # noqa: ANN001 - pytest-django fixture
    """Cache, channel layer and presence all pointed at a port where nothing listens."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url]},
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield url
    channel_layers.backends.clear()


@pytest.mark.django_db(transaction=True)
def test_send_list_and_history_work_while_redis_is_down(
    redis_unreachable, alice, bob, login_client
):
    """A message is stored and readable; rate limits and presence fail open instead of 500."""
    client = login_client(alice)
    response = client.call(
        "post", f"/api/messages/send/{bob.pk}", {"text": "still here", "clientId": "c-1"}
    )
    assert response.status_code == 201, response.content
    assert Message.objects.filter(sender=alice, receiver=bob, text="still here").count() == 1

    users = client.call("get", "/api/messages/users")
    assert users.status_code == 200
    assert [u["lastMessage"]["text"] for u in users.json() if u["_id"] == str(bob.pk)] == [
        "still here"
    ]
    history = login_client(bob).call("get", f"/api/messages/{alice.pk}")
    assert [m["text"] for m in history.json()] == ["still here"]
