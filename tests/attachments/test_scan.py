"""The whole-file scan that refuses markup hidden deep in a text file (attachments/checks.py)."""

import io

import pytest

from attachments import checks
from chatproject.errors import ServiceError

STEP = checks.SCAN_STEP
LOG_LINE = b"2026-12-03 12:00:00 INFO a line of a long server log\n"


def text_with(tag: bytes, at: int) -> io.BytesIO:
    body = (LOG_LINE * (3 * STEP // len(LOG_LINE) + 1))[: 3 * STEP]
    return io.BytesIO(body[:at] + tag + body[at:])


@pytest.mark.parametrize(
    "at",
    [
        0,
        STEP - 1,  # "<" ends one step, the tag name starts the next
        STEP - 4,  # the tag cut in the middle
        2 * STEP + 100,  # far from the start, in a step after many without "<"
    ],
)
@pytest.mark.parametrize("tag", [b"<script>", b"<SvG onload=x>", b"<IFRAME src=x>"])
def test_a_tag_anywhere_in_a_long_text_file_is_refused(tag: bytes, at: int) -> None:
    file = text_with(b"\n" + tag, at)
    with pytest.raises(ServiceError) as refused:
        checks.file_type(file, name="server.log")
    assert refused.value.message == checks.MARKUP


def test_angle_brackets_that_are_not_tags_pass() -> None:
    file = text_with(b"\nif a < b and b <= c: print('<scrip')\n", STEP - 2)
    assert checks.file_type(file, name="server.log") == "text/plain"


def test_a_nul_after_many_steps_makes_it_binary(settings) -> None:  # noqa: ANN001
    settings.ATTACHMENT_TYPES = [*settings.ATTACHMENT_TYPES, "application/octet-stream"]
    file = text_with(b"\x00", 2 * STEP + 5)
    assert checks.file_type(file, name="server.log") == "application/octet-stream"
