"""Helpers for the HTML page tests: parse what the browser would get."""

from html.parser import HTMLParser

import pytest
from django.test import Client

from accounts.models import User
from accounts.tokens import token_issue


class Page(HTMLParser):
    """The tags and attributes of an HTML page, and its visible text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_bodies: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.script_bodies.append((self._in_script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, body = self.script_bodies[-1]
            self.script_bodies[-1] = (attrs, body + data)
        else:
            self._text.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self._text).split())

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.tags
            if t == tag
            and all(a.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())
        ]


@pytest.fixture
def parse():
    return lambda response: Page(response.content.decode())


@pytest.fixture
def page_client():
    """`page_client(user)`: a browser-like client logged in through the `jwt` cookie."""

    def make(user: User | None = None, **kwargs: object) -> Client:
        client = Client(**kwargs)
        if user is not None:
            client.cookies["jwt"] = token_issue(user)
        return client

    return make
