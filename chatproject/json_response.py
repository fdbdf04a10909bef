"""JSON answers for the hot endpoints, rendered straight from dicts already in API shape.

Ninja validates what a view returns against its `response=` schema (about 80 µs a message),
unless the view returns an `HttpResponse`. `JsonAnswer(list[MessageOut])` gives that response
with the very bytes Ninja would have written: the schema's fields in its order and with its
defaults, extra keys dropped, the API's own renderer. Values are only type-checked, not
converted; anything the fast path does not expect (a missing key, an int where a bool belongs)
falls back to Ninja's own validation, so the answer never changes, only its cost. The endpoints
keep their `response=` declarations, which the OpenAPI document is built from.
"""

from __future__ import annotations

import logging
import types
import typing
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Schema
from ninja.operation import ResponseObject
from ninja.renderers import JSONRenderer
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

logger = logging.getLogger(__name__)

# The API renders every answer with this one (chatproject/api.py), so both paths encode alike.
RENDERER = JSONRenderer()
CONTENT_TYPE = f"{RENDERER.media_type}; charset={RENDERER.charset}"


class ShapeMismatch(Exception):
    """The data is not exactly what the schema describes: let Ninja validate it."""


Shaper = Callable[[Any], Any]


SCALARS = (str, int, bool)


def _scalar(kind: type) -> Shaper:
    # As in _model's loop: int and bool exactly, str or a subclass.
    def check_exact(value: Any) -> Any:
        if type(value) is not kind:
            raise ShapeMismatch(kind)
        return value

    def check_str(value: Any) -> Any:
        if not isinstance(value, str):
            raise ShapeMismatch(str)
        return value

    return check_str if kind is str else check_exact


def _any(value: Any) -> Any:
    return value


def _str_dict(value: Any) -> Any:
    if type(value) is not dict or not all(type(key) is str for key in value):
        raise ShapeMismatch(dict)
    return value


def _optional(inner: Shaper) -> Shaper:
    def shape(value: Any) -> Any:
        return None if value is None else inner(value)

    return shape


def _list(inner: Shaper) -> Shaper:
    def shape(value: Any) -> Any:
        if type(value) is not list:
            raise ShapeMismatch(list)
        return [inner(item) for item in value]

    return shape


def _field_check(annotation: Any) -> tuple[type | None, bool, Shaper | None]:
    """(scalar type, may be None, shaper) of a field: scalars and Any are checked inline by
    the model's loop, the per-field call being most of the cost."""
    args = typing.get_args(annotation)
    optional = typing.get_origin(annotation) in (types.UnionType, typing.Union)
    if optional and len(args) == 2 and type(None) in args:
        inner = next(arg for arg in args if arg is not type(None))
        if inner in SCALARS:
            return inner, True, None
    if annotation in SCALARS:
        return annotation, False, None
    if annotation is Any:
        return None, True, None
    return None, True, _shaper(annotation)  # the shaper says what None does


def _model(model: type[BaseModel]) -> Shaper:
    fields = []
    for name, field in model.model_fields.items():
        source = field.validation_alias or field.alias or name
        target = field.serialization_alias or field.alias or name
        if not isinstance(source, str) or not isinstance(target, str):
            raise TypeError(f"{model.__name__}.{name}: only plain string aliases are supported")
        default: Callable[[], Any] | None = None  # None: required
        if field.default_factory is not None:
            default = field.default_factory  # type: ignore[assignment]
        elif field.default is not PydanticUndefined:
            default = lambda value=field.default: value  # noqa: E731
        fields.append((source, target, *_field_check(field.annotation), default))

    def shape(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise ShapeMismatch(model)
        out = {}
        for source, target, kind, nullable, inner, default in fields:
            if source not in value:
                if default is None:
                    raise ShapeMismatch(f"{model.__name__} needs {source}")
                out[target] = default()
                continue
            item = value[source]
            if inner is not None:
                item = inner(item)
            elif item is None:
                if not nullable:
                    raise ShapeMismatch(f"{model.__name__}.{source} is None")
            # int and bool must match exactly (pydantic makes True 1 for an int field); a str
            # subclass (a TextChoices member) is the same JSON string either way.
            elif (
                kind is not None
                and type(item) is not kind
                and (kind is not str or not isinstance(item, str))
            ):
                raise ShapeMismatch(f"{model.__name__}.{source} is not {kind.__name__}")
            out[target] = item
        return out

    return shape


def _shaper(annotation: Any) -> Shaper:
    """A function giving what Ninja's validate-then-dump gives for `annotation`, or raising
    ShapeMismatch; TypeError at import for a type it does not know (extend it then)."""
    if annotation is Any:
        return _any
    if annotation in SCALARS:
        return _scalar(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and len(args) == 1:
        return _list(_shaper(args[0]))
    if origin is dict and args == (str, Any):
        return _str_dict
    if origin in (types.UnionType, typing.Union) and len(args) == 2 and type(None) in args:
        return _optional(_shaper(next(arg for arg in args if arg is not type(None))))
    raise TypeError(f"no fast JSON shape for {annotation!r}")


class JsonAnswer:
    """The response of one `response=` schema: `JsonAnswer(list[MessageOut]).response(...)`."""

    def __init__(self, annotation: Any) -> None:
        self.annotation = annotation
        self._shape = _shaper(annotation)
        # What Ninja builds for `response=annotation` (Operation._create_response_model).
        fields = {"__annotations__": {"response": annotation}}
        self._ninja_model = type("NinjaResponseSchema", (Schema,), fields)

    def response(self, request: HttpRequest, data: Any, status: int = 200) -> HttpResponse:
        """`data` as JSON with `status`, byte for byte what Ninja would have answered."""
        try:
            shaped = self._shape(data)
        except ShapeMismatch as mismatch:
            logger.warning("fast JSON fell back to validation (%s): %s", self.annotation, mismatch)
            shaped = self.validated(request, data, status)
        content = RENDERER.render(request, shaped, response_status=status)
        return HttpResponse(content, status=status, content_type=CONTENT_TYPE)

    def validated(self, request: HttpRequest, data: Any, status: int = 200) -> Any:
        """Ninja's way (Operation._result_to_response): validate, then dump by alias."""
        context = {"request": request, "response_status": status}
        validated = self._ninja_model.model_validate(ResponseObject(data), context=context)
        return validated.model_dump(by_alias=True, context=context)["response"]
