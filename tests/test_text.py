"""chatproject/text.py: what counts as text, and how deep client JSON may nest."""

import json
from typing import Any

import pytest

from chatproject.text import (
    INVALID_TEXT,
    JSON_MAX_DEPTH,
    NOT_TEXT,
    TOO_DEEP,
    InputError,
    first_non_text,
    form_non_text,
    json_input,
    json_too_deep,
)


def nested(depth: int, leaf: Any = 1) -> Any:
    """A JSON value `depth` levels deep, alternating arrays and objects."""
    value = leaf
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return value


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"email": "a@x.test", "password": "\ud800abc"}, "password"),
        ({"event": "typing", "data": {"to": "\udfff"}}, "data.to"),
        ({"items": ["ok", {"b": "x\udc80"}]}, "items.1.b"),
        ({"first": "\ud800", "second": "\ud800"}, "first"),
        ({"\ud800key": "value"}, "\\ud800key"),
        ("\ud800", "body"),
    ],
)
def test_first_non_text_names_the_field(value, path):
    """The first string that can't be UTF-8, key or value, is named by its path."""
    assert first_non_text(value) == path
    json.dumps(path).encode()  # the name itself can go into a JSON error


def test_first_non_text_accepts_real_text():
    """Any real Unicode, astral characters and U+FFFD included, is text."""
    value = {"text": "héllo 😀 \ufffd 中文", "list": [1, None, True, "\u200b"], "n": 3.5}
    assert first_non_text(value) is None


def test_first_non_text_walks_any_depth_without_recursion():
    """A value nested far past the recursion limit is still walked (the walk is a loop)."""
    assert first_non_text(nested(5000, "\ud800")) is not None


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        (json.dumps(nested(JSON_MAX_DEPTH)), False),
        (json.dumps(nested(JSON_MAX_DEPTH + 1)), True),
        ("[" * 8000, True),
        ("]" * 40 + "[" * 40, True),
        ("[1," * 40 + "2" + "]" * 40, True),
        (json.dumps({"text": "[" * 500 + "{" * 500}), False),
        (json.dumps({"a": '\\"' + "[" * 100, "b": [[1]]}), False),
        (json.dumps({"a": "\\", "b": "[" * 100}), False),
        (json.dumps({"a": '"', "b": "[" * 100, "c": ['x"['] * 50}), False),
        (json.dumps({"t": "é[😀{" * 50}, ensure_ascii=False), False),
        (json.dumps([[["x"] * 40]] * 3), False),
    ],
)
def test_json_too_deep_counts_nesting_outside_strings(text, deep):
    """Brackets inside strings (even after escaped quotes) don't count; unclosed ones do."""
    assert json_too_deep(text) is deep


def test_json_input_refuses_deep_nesting_before_parsing():
    """8,000 `[` is an InputError naming the root, not a RecursionError."""
    with pytest.raises(InputError) as caught:
        json_input("[" * 8000, root="frame")
    assert (caught.value.message, caught.value.errors) == (TOO_DEEP, {"frame": [TOO_DEEP]})


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"password": "\\ud800abc"}', "password"),
        (b'{"password": "\xed\xa0\x80abc"}', "password"),  # an encoded surrogate
        (b'{"password": "\xffabc"}', "password"),  # not UTF-8 at all
        ('{"data": {"text": "\\udc00"}}', "data.text"),
    ],
)
def test_json_input_refuses_non_text_naming_the_field(raw, field):
    """Escaped surrogates and bytes that aren't UTF-8 are one and the same refusal."""
    with pytest.raises(InputError) as caught:
        json_input(raw, root="body")
    assert (caught.value.message, caught.value.errors) == (INVALID_TEXT, {field: [NOT_TEXT]})


def test_json_input_still_raises_valueerror_for_malformed_json():
    with pytest.raises(ValueError):
        json_input(b'{"email": ', root="body")


@pytest.mark.parametrize(
    ("encoded", "field"),
    [
        ("email=a%40x.test&password=%ED%A0%80abc", "password"),
        ("password=%FF", "password"),
        (b"full_name=\xffabc", "full_name"),
        ("%ED%A0%80=1", "\\udced\\udca0\\udc80"),
        ("next=%2Fchat%2F&next=%C3", "next"),
        ("name=h%C3%A9llo+%F0%9F%98%80&a=", None),
        ("", None),
    ],
)
def test_form_non_text_reads_the_encoded_form(encoded, field):
    """Percent-escapes and raw bytes that aren't UTF-8 are found before Django replaces them."""
    assert form_non_text(encoded) == field
