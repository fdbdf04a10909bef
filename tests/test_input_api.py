"""Hostile text and nesting on every JSON endpoint: a 400 naming the field, never a 500.

The endpoints and their string fields are read from the OpenAPI schema, so a new endpoint or
field is covered without touching this file.
"""

import json
import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from chatproject.api import api as ninja_api
from chatproject.text import INVALID_TEXT, JSON_MAX_DEPTH, NOT_TEXT, TOO_DEEP
from messaging.models import Message

pytestmark = pytest.mark.django_db

SCHEMA = ninja_api.get_openapi_schema()
PATH_PARAM = re.compile(r"\{[^}]+\}")
SURROGATE = "\ud800x"
# What a lone surrogate looks like percent-encoded (CESU-style), and a byte that is never UTF-8.
NOT_UTF8_ESCAPES = ["%ED%A0%80x", "%FFx"]


def _is_string(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(option.get("type") == "string" for option in options)


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in SCHEMA["paths"].items()
        for method, operation in operations.items()
    ]


def _body_string_fields() -> list[Any]:
    cases = []
    for method, path, operation in _operations():
        body = operation.get("requestBody")
        if not body or "application/json" not in body["content"]:
            continue  # multipart uploads: their names are checked in tests/attachments
        ref = body["content"]["application/json"]["schema"]["$ref"]
        properties = SCHEMA["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
        strings = sorted(name for name, prop in properties.items() if _is_string(prop))
        for field in strings:
            cases.append(pytest.param(method, path, field, strings, id=f"{method} {path} {field}"))
    return cases


def _params(where: str) -> list[Any]:
    return [
        pytest.param(method, path, param["name"], id=f"{method} {path} {param['name']}")
        for method, path, operation in _operations()
        for param in operation.get("parameters", [])
        if param["in"] == where and _is_string(param["schema"])
    ]


BODY_FIELDS = _body_string_fields()
QUERY_PARAMS = _params("query")
PATH_PARAMS = _params("path")


def _url(path: str, other: User) -> str:
    return PATH_PARAM.sub(str(other.pk), path)


def _counts() -> tuple[int, int]:
    return User.objects.count(), Message.objects.count()


def test_the_walk_covers_the_fields_the_issue_names():
    """Guard: the schema walk finds the fields reported in issue 8 (it isn't walking nothing)."""
    found = {(path, field) for _, path, field, _ in (case.values for case in BODY_FIELDS)}
    assert {
        ("/api/auth/login", "password"),
        ("/api/auth/signup", "fullName"),
        ("/api/auth/change-password", "currentPassword"),
        ("/api/auth/update-profile", "fullName"),
        ("/api/messages/{user_id}", "text"),
        ("/api/messages/{user_id}", "clientId"),
    } <= found
    assert {case.values[2] for case in QUERY_PARAMS} >= {"before", "after", "limit"}


@pytest.mark.parametrize(("method", "path", "field", "strings"), BODY_FIELDS)
def test_a_lone_surrogate_in_any_body_field_is_a_400_naming_it(
    login_client, alice, bob, method, path, field, strings
):
    """`"\\ud800x"` in any string field of any JSON body: 400 naming that field, nothing saved."""
    body = {name: "x" for name in strings} | {field: SURROGATE}
    before = _counts()
    response = login_client(alice).call(method, _url(path, bob), body)
    assert response.status_code == 400, response.content
    assert response.json() == {"message": INVALID_TEXT, "errors": {field: [NOT_TEXT]}}
    assert _counts() == before


@pytest.mark.parametrize("escape", NOT_UTF8_ESCAPES)
@pytest.mark.parametrize(("method", "path", "param"), QUERY_PARAMS)
def test_a_query_parameter_that_is_not_utf8_is_a_400_naming_it(
    login_client, alice, bob, method, path, param, escape
):
    """Query strings are checked before Django turns bad bytes into U+FFFD."""
    client = login_client(alice)
    response = getattr(client, method)(f"{_url(path, bob)}?{param}={escape}")
    assert response.status_code == 400, response.content
    assert response.json() == {"message": INVALID_TEXT, "errors": {param: [NOT_TEXT]}}


@pytest.mark.parametrize("escape", NOT_UTF8_ESCAPES)
@pytest.mark.parametrize(("method", "path", "param"), PATH_PARAMS)
def test_a_path_parameter_that_is_not_utf8_is_refused_without_a_500(
    login_client, alice, method, path, param, escape
):
    """Path params reach the view already decoded (bad bytes re-escaped or replaced): a 4xx."""
    url = PATH_PARAM.sub(str(alice.pk), path.replace(f"{{{param}}}", escape))
    body = json.dumps({"text": "hi", "upTo": "1"})
    response = login_client(alice).generic(method.upper(), url, body, "application/json")
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"email": "alice@example.com", "password": "\xed\xa0\x80abc"}', "password"),
        (b'{"email": "alice@example.com", "password": "\xffabc"}', "password"),
        (b'{"email": "alice@example.com", "password": "x", "\\ud800": 1}', "\\ud800"),
        (b'{"email": ["alice@example.com", "\\udfff"], "password": "x"}', "email.1"),
    ],
)
def test_raw_bytes_and_keys_that_are_not_text_are_named(alice, raw, field):
    """Bytes that aren't UTF-8 inside a JSON string, or a bad key, get the same 400."""
    response = Client().post("/api/auth/login", raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"message": INVALID_TEXT, "errors": {field: [NOT_TEXT]}}


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 8000,
        "[" * 100_000,
        '{"email": "a@x.test", "password": "x", "extra": ' + "[" * 40 + "]" * 40 + "}",
    ],
    ids=["8000 [", "100k [", "deep field"],
)
def test_json_nested_too_deep_is_a_400_before_parsing(raw):
    """Nesting past the limit is refused up front (json would recurse into a RecursionError)."""
    response = Client().post("/api/auth/login", raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"message": TOO_DEEP, "errors": {"body": [TOO_DEEP]}}


def test_nesting_up_to_the_limit_and_brackets_inside_text_are_fine(login_client, alice, bob):
    """The limit counts structure, not characters: `[[[` typed in a message is just text."""
    deep = "[" * (JSON_MAX_DEPTH - 1) + "]" * (JSON_MAX_DEPTH - 1)
    text = "[" * 300 + "{" * 300
    raw = f'{{"text": {json.dumps(text)}, "ignored": {deep}}}'
    response = login_client(alice).post(f"/api/messages/{bob.pk}", raw, "application/json")
    assert response.status_code == 201, response.content
    assert Message.objects.get().text == text
