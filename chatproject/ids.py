"""Ids travel as strings; each backend has its own pk type (int on SQLite, ObjectId on Mongo)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model


def parse_pk(model: type[Model], value: object) -> Any | None:
    """The primary key value for `value`, or None when it cannot be one (so callers answer 404)."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    try:
        pk = model._meta.pk.to_python(value)
    except (ValidationError, ValueError, TypeError, OverflowError):
        return None
    if isinstance(pk, int) and not (0 < pk < 2**63):
        return None  # SQLite integers are 64-bit; anything else can't name a row
    return pk
