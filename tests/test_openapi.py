"""The OpenAPI document behind /api/docs describes what the API really answers."""

import json
import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from accounts.services import INVALID_EMAIL
from chatproject.api import api
from chatproject.schemas import ErrorOut

WRITES = {"post", "put", "patch", "delete"}
SEND_ERRORS = {400, 401, 403, 404, 413, 429, 503}
CONVERSATION = "/api/conversations/{conversation_id}"
# Every error each endpoint can answer (see docs/AUTH.md and docs/MESSAGING.md).
ERRORS = {
    ("post", "/api/auth/signup"): {400, 403, 413, 429},
    ("post", "/api/auth/login"): {400, 403, 413, 429},
    ("post", "/api/auth/logout"): {403},
    ("put", "/api/auth/update-profile"): {400, 401, 403, 413, 503},
    ("put", "/api/auth/change-password"): {400, 401, 403, 413},
    ("put", "/api/auth/theme"): {400, 401, 403, 413},
    ("get", "/api/auth/check"): {401},
    ("get", "/api/auth/check-auth"): {401},
    ("get", "/api/messages/users"): {401},
    ("get", "/api/messages/{user_id}"): {400, 401, 404},
    ("post", "/api/messages/send/{user_id}"): SEND_ERRORS,
    ("post", "/api/messages/{user_id}"): SEND_ERRORS,
    ("post", "/api/messages/{user_id}/read"): {400, 401, 403, 404, 413},
    ("get", "/api/conversations/"): {401},
    ("post", "/api/conversations/"): {400, 401, 403, 404, 413, 503},
    ("get", f"{CONVERSATION}"): {401, 404},
    ("patch", f"{CONVERSATION}"): {400, 401, 403, 404, 413, 503},
    ("post", f"{CONVERSATION}/members"): {400, 401, 403, 404, 413},
    ("delete", f"{CONVERSATION}/members/{{user_id}}"): {400, 401, 403, 404},
    ("put", f"{CONVERSATION}/members/{{user_id}}/role"): {400, 401, 403, 404, 413},
    ("post", f"{CONVERSATION}/leave"): {400, 401, 403, 404},
    ("get", f"{CONVERSATION}/messages"): {400, 401, 404},
    ("post", f"{CONVERSATION}/messages"): SEND_ERRORS,
    ("post", f"{CONVERSATION}/read"): {400, 401, 403, 404, 413},
    ("get", f"{CONVERSATION}/messages/{{message_id}}/receipts"): {401, 404},
    ("patch", f"{CONVERSATION}/messages/{{message_id}}"): {400, 401, 403, 404, 413, 429, 503},
    ("delete", f"{CONVERSATION}/messages/{{message_id}}"): {401, 403, 404, 503},
    ("post", f"{CONVERSATION}/messages/{{message_id}}/reactions"): {
        400,
        401,
        403,
        404,
        413,
        429,
        503,
    },
    ("post", f"{CONVERSATION}/attachments"): {400, 401, 403, 404, 413, 429, 503},
    ("get", "/api/search/messages"): {400, 401, 404, 429},
    ("post", f"{CONVERSATION}/mute"): {400, 401, 403, 404, 413},
    ("get", "/api/users/search"): {400, 401},
    ("get", "/api/blocks"): {401},
    ("post", "/api/blocks"): {400, 401, 403, 404, 413},
    ("delete", "/api/blocks/{user_id}"): {401, 403, 404},
    ("post", "/api/messages/{message_id}/report"): {400, 401, 403, 404, 413, 429},
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    # Round-tripped through JSON: what /api/openapi.json serves.
    return json.loads(json.dumps(api.get_openapi_schema()))


def operations(schema: dict[str, Any]):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def response_schema(schema: dict[str, Any], operation: dict[str, Any], status: int) -> dict:
    response = operation["responses"][str(status)]
    return resolve(schema, response["content"]["application/json"]["schema"])


def models_in(annotation: Any, found: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """Every pydantic model an annotation mentions, through lists, unions and fields."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in found:
            found.add(annotation)
            for field in annotation.model_fields.values():
                models_in(field.annotation, found)
    elif isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            models_in(arg, found)
    return found


def api_models() -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for wrapper in operation.response_models.values():
                    models_in(wrapper.model_fields["response"].annotation, found)
                for wrapper in operation.models:
                    for field in wrapper.model_fields.values():
                        models_in(field.annotation, found)
    return found


def test_no_two_api_schemas_share_a_name():
    """Each schema name in the document stands for one model: none silently replaces another."""
    by_name: dict[str, set[str]] = {}
    for model in api_models():
        by_name.setdefault(model.__name__, set()).add(f"{model.__module__}.{model.__qualname__}")
    assert {name: where for name, where in by_name.items() if len(where) > 1} == {}


def test_logout_is_documented_as_a_confirmation_and_history_as_chat_messages(schema):
    """Logout answers `{message}`, not a chat Message; history items carry `_id`, `senderId`..."""
    paths = schema["paths"]
    logout = response_schema(schema, paths["/api/auth/logout"]["post"], 200)
    assert set(logout["properties"]) == {"message"}
    history = response_schema(schema, paths["/api/messages/{user_id}"]["get"], 200)
    message = resolve(schema, history["items"])
    assert {"_id", "senderId", "receiverId", "text", "image"} <= set(message["properties"])


def test_messages_carry_their_actions_and_sidebars_a_preview(schema):
    """Pages and answers describe editedAt, deletedAt, replyTo and reactions; a sidebar's
    lastMessage is the preview without the quote and the reactions (not read for it)."""
    paths = schema["paths"]
    actions = {"editedAt", "deletedAt", "replyTo", "reactions"}
    for path in ("/api/messages/{user_id}", f"{CONVERSATION}/messages"):
        page = response_schema(schema, paths[path]["get"], 200)
        assert actions <= set(resolve(schema, page["items"])["properties"]), path
    edited = response_schema(schema, paths[f"{CONVERSATION}/messages/{{message_id}}"]["patch"], 200)
    assert actions | {"kind", "event"} <= set(edited["properties"])
    toggled = paths[f"{CONVERSATION}/messages/{{message_id}}/reactions"]["post"]
    assert set(response_schema(schema, toggled, 200)["properties"]) == {"messageId", "reactions"}
    sidebar = response_schema(schema, paths["/api/conversations/"]["get"], 200)
    last = resolve(
        schema, resolve(schema, sidebar["items"])["properties"]["lastMessage"]["anyOf"][0]
    )
    assert {"editedAt", "deletedAt"} <= set(last["properties"])
    assert not {"replyTo", "reactions"} & set(last["properties"])


def test_every_operation_has_a_written_summary(schema):
    """Summaries are sentences, not Ninja's default made from the function name."""
    for method, path, operation in operations(schema):
        function = operation["operationId"].split("_api_", 1)[1]
        default = function.title().replace("_", " ")
        summary = operation.get("summary", "")
        assert summary and summary != default and len(summary.split()) >= 3, (method, path)


def test_every_operation_documents_the_errors_it_can_answer(schema):
    """Each endpoint lists exactly the error statuses it answers, each with the ErrorOut body."""
    documented = {}
    for method, path, operation in operations(schema):
        errors = {int(code) for code in operation["responses"] if int(code) >= 400}
        documented[(method, path)] = errors
        for status in errors:
            body = operation["responses"][str(status)]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)
        # Rules that hold for any endpoint added later.
        assert any(400 <= status < 500 for status in errors), (method, path)
        if operation.get("security"):
            assert 401 in errors, (method, path)
        if method in WRITES:
            assert 403 in errors, (method, path)  # cross-site writes are refused
        if "requestBody" in operation:
            assert {400, 413} <= errors, (method, path)
    assert documented == ERRORS


def test_the_error_schema_is_message_and_optional_field_errors(schema):
    """ErrorOut: a required `message` sentence and optional per-field `errors`."""
    error = schema["components"]["schemas"]["ErrorOut"]
    assert error["required"] == ["message"]
    assert set(error["properties"]) == {"message", "errors"}


# --- the bodies the error handlers really send match ErrorOut ------------------------------------


def assert_error_out(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) <= {"message", "errors"}, body
    ErrorOut.model_validate(body, strict=True)
    return body


@pytest.mark.django_db
def test_error_bodies_match_the_documented_schema(api, login_client, alice, settings):
    """400 (with field errors), 401, 403, 404, 413 and 429 all send an ErrorOut body."""
    signup = {"fullName": "Eve", "email": "not-an-email", "password": "secret1"}
    body = assert_error_out(api.call("post", "/api/auth/signup", signup), 400)
    assert body["errors"] == {"email": [INVALID_EMAIL]}
    assert assert_error_out(api.call("post", "/api/auth/signup", {"email": 1}), 400)["errors"]
    assert_error_out(api.call("post", "/api/auth/signup", {}), 400)
    assert_error_out(api.call("get", "/api/auth/check"), 401)
    foreign = {"HTTP_ORIGIN": "https://evil.example"}
    assert_error_out(api.call("post", "/api/auth/login", {}, **foreign), 403)
    client = login_client(alice)
    assert_error_out(client.call("get", "/api/messages/no-such-user"), 404)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert_error_out(client.call("post", "/api/auth/login", {"email": "x" * 2000}), 413)
    settings.LOGIN_RATE_PER_IP = 1
    login = {"email": "alice@example.com", "password": "wrong-password"}
    api.call("post", "/api/auth/login", login)
    assert_error_out(api.call("post", "/api/auth/login", login), 429)
