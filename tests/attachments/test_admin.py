"""The admin's attachment list: names shown as text, downloads through the checked view."""

import pytest

from attachments.models import Attachment

pytestmark = pytest.mark.django_db


def test_admin_lists_files_with_escaped_names_and_a_checked_link(
    uploaded, alice, direct, client, admin_user
):  # noqa: ANN001
    file = uploaded(alice, direct, "<svg onload=alert(1)>.pdf")
    client.force_login(admin_user)

    listing = client.get("/admin/attachments/attachment/").content.decode()
    assert "&lt;svg onload=alert(1)&gt;.pdf" in listing
    assert "<svg onload" not in listing

    detail = client.get(f"/admin/attachments/attachment/{file['_id']}/change/").content.decode()
    assert f'href="{file["url"]}"' in detail.replace("&amp;", "&")
    assert client.get(file["url"]).status_code == 200  # the superuser has the permission


def test_admin_delete_removes_the_file(
    uploaded, alice, direct, client, admin_user, stored, django_capture_on_commit_callbacks
):  # noqa: ANN001
    file = uploaded(alice, direct)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/attachments/attachment/{file['_id']}/delete/", {"post": "yes"}
        )
    assert response.status_code == 302
    assert not Attachment.objects.exists() and stored() == []
