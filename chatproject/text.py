"""Is this client input text? The one check for every string a request or frame carries.

JSON's `"\\ud800"` escape decodes to a Python str holding a lone UTF-16 surrogate, which only
explodes later, when something encodes it to UTF-8 (bcrypt, SQLite, a JSON reply): a 500.
Bytes that are not UTF-8 are decoded with `surrogateescape`, which turns each bad byte into the
same kind of surrogate, so one check (`first_non_text`) catches both and names the field.

Python's json module also recurses once per nesting level (RecursionError near 1,000), so
nesting is measured on the raw text first, without recursion (`json_too_deep`).
"""

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest
from ninja.parser import Parser

from chatproject.errors import ServiceError

JSON_MAX_DEPTH = 32  # our bodies and frames nest 2 or 3 levels

INVALID_TEXT = "Invalid input: text must be valid Unicode"
NOT_TEXT = "Must be valid Unicode text (no lone UTF-16 surrogates, no invalid UTF-8)"
TOO_DEEP = f"Invalid input: JSON may nest at most {JSON_MAX_DEPTH} levels"

# Only surrogate code points make a str impossible to encode as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Outside strings only brackets matter, objects and arrays alike (json recurses into both).
_KEEP_QUOTES_AND_BRACKETS = bytes.maketrans(b"{}", b"[]")
_DROP = bytes(code for code in range(256) if code not in b'"[]{}')
_SLICE = 1 << 16  # strings are cut out a slice at a time, so memory stays small


class InputError(ServiceError):
    """Input refused before any endpoint or handler saw it: 400, with the field named."""

    def __init__(self, message: str, *, field: str, sentence: str) -> None:
        super().__init__(message, status=400, errors={field: [sentence]})
        self.field = field


def is_text(value: str) -> bool:
    """Whether `value` can be encoded as UTF-8 (holds no surrogate)."""
    # isascii() reads a flag CPython keeps on every str: free, where the search costs ~4 ms
    # per megabyte with the GIL held (a base64 picture in a JSON body is megabytes of ASCII).
    return value.isascii() or _SURROGATE.search(value) is None


def _printable(path: str) -> str:
    # A bad key is part of the path we report, and the report itself must be valid JSON.
    return path.encode("utf-8", "backslashreplace").decode()


def first_non_text(value: Any, *, root: str = "body") -> str | None:
    """The path of the first string (key or value) in a decoded JSON value that isn't text.

    Paths look like "password", "data.text" or "items.0"; `root` names `value` itself.
    Walks with an explicit stack: a value of any depth costs no recursion.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if not is_text(item):
                return path or root
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and not is_text(key):
                    return _printable(child_path)
                children.append((child_path, child))
            stack.extend(reversed(children))
        elif isinstance(item, list | tuple):
            children = [(f"{path}.{i}" if path else str(i), child) for i, child in enumerate(item)]
            stack.extend(reversed(children))
    return None


def _outside_strings(shape: bytes) -> bytes:
    """`shape` (quotes and brackets only, escapes gone) without the strings' contents."""
    kept, inside = [], False
    for start in range(0, len(shape), _SLICE):
        parts = shape[start : start + _SLICE].split(b'"')
        kept.append(b"".join(parts[1 if inside else 0 :: 2]))
        inside ^= len(parts) % 2 == 0  # an odd number of quotes in the slice
    return b"".join(kept)


def _opens_more_than(text: str, limit: int) -> bool:
    """Whether `text` holds more than `limit` of `[` and `{`.

    Looked for with `find`, a memchr: counting over a megabytes-long body held the GIL for
    milliseconds (chat waits for it), and this stops at the limit.
    """
    opened = 0
    for bracket in "[{":
        at = text.find(bracket)
        while at != -1:
            opened += 1
            if opened > limit:
                return True
            at = text.find(bracket, at + 1)
    return False


def json_too_deep(text: str, limit: int = JSON_MAX_DEPTH) -> bool:
    """Whether JSON `text` nests arrays/objects deeper than `limit` (brackets in strings aside).

    Bounded, recursion-free and fast on hostile input (C string operations, no per-character
    Python): escapes go, then everything but quotes and brackets, then string contents; each
    pass then deletes the innermost `[]` pairs, so well-formed JSON of depth d empties in d
    passes. Openers never closed count one level each (malformed, but json would recurse).
    """
    if not _opens_more_than(text, limit):
        return False  # can't nest deeper than it opens: every ordinary body stops here
    shape = text.encode("utf-8", "surrogatepass").replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = _outside_strings(shape.translate(_KEEP_QUOTES_AND_BRACKETS, _DROP))
    passes = 0
    while passes <= limit:
        reduced = brackets.replace(b"[]", b"")
        if len(reduced) == len(brackets):
            break
        brackets, passes = reduced, passes + 1
    return passes + brackets.count(b"[") > limit


def json_input(raw: str | bytes, *, root: str) -> Any:
    """Decode client JSON: InputError when too deep or holding non-text; ValueError if malformed.

    `root` names the whole value in errors ("body" for HTTP, "frame" for WebSocket).
    """
    if isinstance(raw, bytes):
        raw = raw.decode(json.detect_encoding(raw), "surrogateescape")
    if json_too_deep(raw):
        raise InputError(TOO_DEEP, field=root, sentence=TOO_DEEP)
    value = json.loads(raw)
    field = first_non_text(value, root=root)
    if field is not None:
        raise InputError(INVALID_TEXT, field=field, sentence=NOT_TEXT)
    return value


def form_non_text(encoded: str | bytes) -> str | None:
    """The first field of a query string or urlencoded form whose name or value isn't UTF-8.

    Django decodes these with errors="replace", after which a bad byte is an ordinary U+FFFD:
    this must look at the encoded form.
    """
    if isinstance(encoded, bytes):
        encoded = encoded.decode("utf-8", "surrogateescape")
    if "%" not in encoded and is_text(encoded):
        return None  # nothing escaped, nothing undecodable: the common case costs one scan
    try:
        pairs = parse_qsl(
            encoded,
            keep_blank_values=True,
            errors="surrogateescape",
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    except ValueError:
        return None  # too many fields: Django refuses the request itself
    for key, value in pairs:
        field = first_non_text({key: value})
        if field is not None:
            return field
    return None


class TextJsonParser(Parser):
    """Ninja's body parser: JSON bodies go through `json_input` (the one place they're decoded)."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json_input(request.body, root="body")
