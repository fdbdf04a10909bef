"""Downloading a file: only whoever may see its message gets it, always as a download."""

from urllib.parse import quote

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from attachments.models import Attachment
from attachments.selectors import ATTACHMENT_NOT_FOUND
from tests.attachments.conftest import PDF, TEXT

pytestmark = pytest.mark.django_db


def content(response) -> bytes:  # noqa: ANN001
    if not response.streaming:
        return response.content
    return b"".join(async_to_sync(_collect)(response))


def not_found(response) -> None:  # noqa: ANN001
    assert response.status_code == 404, response
    assert response.json() == {"message": ATTACHMENT_NOT_FOUND}


def test_a_member_downloads_it_as_an_attachment(
    uploaded, send_file, login_client, alice, bob, direct
):  # noqa: ANN001
    """The receiver gets the bytes with the decided type, `attachment` disposition (the exact
    name in RFC 5987 form), nosniff, a sandbox CSP and private caching."""
    file = uploaded(alice, direct, "Résumé.pdf", PDF)
    # Quotes can't go through the test client's multipart encoder: set the name directly.
    Attachment.objects.filter(pk=file["_id"]).update(name='Résumé "final".pdf')
    assert send_file(alice, direct, file["_id"]).status_code == 201

    response = login_client(bob).get(file["url"])

    assert response.status_code == 200
    assert content(response) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(PDF))
    assert response["Content-Disposition"] == (
        "attachment; filename=\"R_sum_ _final_.pdf\"; filename*=UTF-8''"
        + quote('Résumé "final".pdf', safe="")
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Cache-Control"].startswith("private")


def test_xss_in_a_name_stays_inside_the_header_quoting(uploaded, login_client, alice, direct):  # noqa: ANN001
    """A name full of markup and quotes cannot break out of Content-Disposition."""
    name = '"><svg onload=alert(1)>;filename=evil.html.pdf'
    file = uploaded(alice, direct, "x.pdf", PDF)
    Attachment.objects.filter(pk=file["_id"]).update(name=name)
    response = login_client(alice).get(file["url"])
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="_><svg onload=alert(1)>;filename=evil')
    assert disposition.count('"') == 2  # the fallback's own quotes, nothing else
    assert disposition.endswith("filename*=UTF-8''" + quote(name, safe=""))


def test_a_non_member_gets_404_like_an_unknown_id(
    uploaded, send_file, login_client, alice, direct, make_user
):  # noqa: ANN001
    """Someone outside the conversation cannot tell the file exists: the same 404 as for an
    unknown or malformed id."""
    file = uploaded(alice, direct)
    send_file(alice, direct, file["_id"])
    stranger = login_client(make_user())
    not_found(stranger.get(file["url"]))
    not_found(stranger.get("/api/attachments/999999/notes.pdf"))
    not_found(stranger.get("/api/attachments/not-an-id/notes.pdf"))


def test_needs_login(uploaded, api, alice, direct):  # noqa: ANN001
    """No cookie: 401."""
    file = uploaded(alice, direct)
    assert api.get(file["url"]).status_code == 401


def test_an_unsent_upload_is_its_uploaders_alone(uploaded, login_client, alice, bob, direct):  # noqa: ANN001
    """Until a message carries it, even the other member gets 404."""
    file = uploaded(alice, direct)
    not_found(login_client(bob).get(file["url"]))
    assert content(login_client(alice).get(file["url"])) == PDF


def test_a_member_who_left_keeps_what_they_could_see(
    uploaded, send_file, login_client, alice, bob, make_group, make_user
):  # noqa: ANN001
    """Bob left the group: he still downloads the file sent before he left, not one sent
    after; someone added later gets what is sent from then on, not the earlier ones."""
    from messaging.groups import group_leave, members_add

    group = make_group(alice, bob)
    before = uploaded(alice, group, "before.pdf")
    send_file(alice, group, before["_id"])
    group_leave(user=bob, conversation_id=str(group.pk))
    after = uploaded(alice, group, "after.pdf")
    send_file(alice, group, after["_id"])

    assert content(login_client(bob).get(before["url"])) == PDF
    not_found(login_client(bob).get(after["url"]))

    newcomer = make_user()
    members_add(actor=alice, conversation_id=str(group.pk), user_ids=[str(newcomer.pk)])
    not_found(login_client(newcomer).get(before["url"]))  # sent before they were added
    latest = uploaded(alice, group, "latest.pdf")
    send_file(alice, group, latest["_id"])
    assert content(login_client(newcomer).get(latest["url"])) == PDF


def test_the_name_in_the_url_does_not_matter(uploaded, login_client, alice, direct):  # noqa: ANN001
    """The id decides; the name in the path is only for people and "save as"."""
    file = uploaded(alice, direct)
    response = login_client(alice).get(f"/api/attachments/{file['_id']}/other.txt")
    assert content(response) == PDF


def test_only_get_and_head(uploaded, login_client, alice, direct):  # noqa: ANN001
    file = uploaded(alice, direct)
    assert login_client(alice).post(file["url"]).status_code == 405


def test_moderators_download_through_the_admin_session(
    uploaded, client, alice, bob, direct, make_user
):  # noqa: ANN001
    """A staff member with the view permission, logged in to the admin, gets any file; staff
    without it get 404."""
    from django.contrib.auth.models import Permission

    file = uploaded(alice, direct)
    moderator = make_user(is_staff=True)
    client.force_login(moderator)
    not_found(client.get(file["url"]))
    moderator.user_permissions.add(Permission.objects.get(codename="view_attachment"))
    from accounts import user_cache

    user_cache.cache.clear()
    assert content(client.get(file["url"])) == PDF


def test_large_downloads_stream_in_pieces_under_asgi(
    uploaded, alice, direct, settings, login_client
):  # noqa: ANN001
    """Under ASGI the file goes out a piece at a time (an async iterator), not read whole
    into memory first (which Django does to a sync file response)."""
    from attachments.views import CHUNK_BYTES

    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    data = TEXT * (CHUNK_BYTES // len(TEXT) * 3)
    file = uploaded(alice, direct, "long.txt", data)
    client = AsyncClient()
    client.cookies = login_client(alice).cookies

    response = async_to_sync(client.get)(file["url"])

    assert response.status_code == 200
    assert response.is_async
    assert b"".join(async_to_sync(_collect)(response)) == data


async def _collect(response) -> list[bytes]:  # noqa: ANN001
    return [chunk async for chunk in response.streaming_content]


@pytest.mark.parametrize(
    "path",
    [
        "/media/attachments/{name}",
        "/media/./attachments/{name}",
        "/media//attachments/{name}",
        "/media/avatars/../attachments/{name}",
        "/media/attachments%2F{name}",
    ],
)
def test_media_route_refuses_the_attachments_folder(uploaded, api, alice, direct, stored, path):  # noqa: ANN001
    """The stored bytes are never reachable through the public /media/ route, however the
    path is spelled."""
    uploaded(alice, direct)
    attachment = Attachment.objects.get()
    name = attachment.storage_name.rsplit("/", 1)[-1]
    assert len(stored()) == 1
    assert api.get(path.format(name=name)).status_code == 404


def test_media_route_still_serves_pictures(api, media):  # noqa: ANN001
    """Avatars and chat images stay public."""
    (media / "avatars").mkdir()
    (media / "avatars" / "a.png").write_bytes(b"png")
    assert api.get("/media/avatars/a.png").status_code == 200
