"""Words of a search: from the query string to FTS5 syntax, and the snippet with its matches.

Pure functions. Words are runs of letters and digits (with their combining accents), as
SQLite's `unicode61` tokenizer cuts them; they are compared folded (lower case, accents
removed), each query word matching any word of the message that starts with it.
"""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")
TERMS_MAX = 8
SNIPPET_CHARS = 160  # longer texts are cut around the first match
SNIPPET_BEFORE = 50  # characters kept before the first match
ELLIPSIS = "\u2026"


def fold(word: str) -> str:
    """Lower case without accents: "Éléphant" -> "elephant"."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def query_terms(q: str) -> list[str]:
    """The distinct folded words of a query, in order, at most TERMS_MAX (FTS syntax, quotes
    and punctuation are separators, so they can never reach the FTS query as syntax)."""
    terms: list[str] = []
    for match in WORD.finditer(q):
        term = fold(match.group())
        if term and term not in terms:
            terms.append(term)
    return terms[:TERMS_MAX]


def fts_match(terms: list[str]) -> str:
    """An FTS5 MATCH expression: every term, quoted, as a prefix ("caf"* "ete"*)."""
    return " ".join('"' + term.replace('"', '""') + '"*' for term in terms)


def word_matches(word: str, terms: list[str]) -> bool:
    folded = fold(word)
    return any(folded.startswith(term) for term in terms)


def text_matches(text: str, terms: list[str]) -> bool:
    """Every term starts some word of `text` (what the FTS query means)."""
    if text.isascii():  # no accents to remove: lower case is the folding
        lowered = text.lower()
        if not all(term in lowered for term in terms):
            return False
        words = WORD.findall(lowered)
        return all(any(w.startswith(term) for w in words) for term in terms)
    words = [fold(m.group()) for m in WORD.finditer(text)]
    return all(any(w.startswith(term) for w in words) for term in terms)


def snippet(text: str, terms: list[str]) -> list[dict[str, object]]:
    """`text` as parts `{text, match}`, the words matching a term marked; a long text is cut
    around its first match, the cuts shown by an ellipsis. Data, never HTML: the client makes
    DOM nodes of it."""
    spans = [(m.start(), m.end()) for m in WORD.finditer(text) if word_matches(m.group(), terms)]
    start, end = 0, len(text)
    if len(text) > SNIPPET_CHARS:
        first = spans[0][0] if spans else 0
        start = max(0, first - SNIPPET_BEFORE)
        if start:
            space = text.find(" ", start, first)  # start on a word boundary when one is near
            start = space + 1 if space != -1 else start
        end = min(len(text), start + SNIPPET_CHARS)
        if end < len(text):
            space = text.rfind(" ", max(start, end - 20), end)
            end = space if space > start else end
    parts: list[dict[str, object]] = []

    def add(piece: str, match: bool) -> None:
        if not piece:
            return
        if parts and parts[-1]["match"] == match:
            parts[-1]["text"] += piece
        else:
            parts.append({"text": piece, "match": match})

    if start:
        add(ELLIPSIS, False)
    cursor = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        add(text[cursor:s], False)
        add(text[s:e], True)
        cursor = e
    add(text[cursor:end], False)
    if end < len(text):
        add(ELLIPSIS, False)
    return parts
