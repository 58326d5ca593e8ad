"""Editing the gallery's query text one filter at a time (the filter widgets do).

The query text stays the single truth: a widget adds, replaces or removes its token
(`stars:>=3`, `board:"my picks"`), the text is saved and searched as typed, and typing a
token moves the widget. Terms are split by engine.store.query's own splitter: spaces
separate, a quote runs to the next quote, `-` negates. Negated filters are the user's own: the
widgets neither show nor touch them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.store.query import Term, split_terms

_STARS = re.compile(r"(>=|<=|=|>|<)?([0-5])")


@dataclass(frozen=True)
class Token:
    start: int
    end: int  # text[start:end] is the term as typed
    negated: bool
    key: str  # "" for a free word or phrase
    value: str


def tokens(text: str) -> list[Token]:
    """The terms of `text`, where they are in it, as the search itself splits them."""
    return [_token(term) for term in split_terms(text)]


def _token(term: Term) -> Token:
    key, value = term.key, term.value
    if not key and not term.phrase and value.lower() == "starred":
        key, value = "starred", ""  # the bare word is the filter `stars:>=1`
    return Token(term.start, term.end, term.negated, key, value)


def value_of(text: str, key: str) -> str | None:
    """The value of the first (not negated) `key:` filter in `text`; None if there is none."""
    return next((t.value for t in tokens(text) if t.key == key and not t.negated), None)


def term(key: str, value: str) -> str:
    """`key:value` as typed (quoted when the value has spaces; `starred` alone)."""
    if key == "starred":
        return "starred"
    return f'{key}:"{value}"' if re.search(r"\s", value) or not value else f"{key}:{value}"


def with_filter(text: str, key: str, value: str | None, replaces: tuple[str, ...] = ()) -> str:
    """`text` with its (not negated) `key:` filters, and those of the keys in `replaces`,
    taken out, and `key:value` put where the first of them was (at the end if none was);
    value None only takes them out. Every other term stays as typed."""
    keys = {key, *replaces}
    gone = [t for t in tokens(text) if t.key in keys and not t.negated]
    new = term(key, value) if value is not None else ""
    if not gone:
        return f"{text.rstrip()} {new}".strip() if new else text.strip()
    out = text
    for index, token in enumerate(reversed(gone)):  # from the end: offsets stay right
        put = new if index == len(gone) - 1 else ""
        before, after = out[: token.start].rstrip(), out[token.end :].lstrip()
        out = " ".join(part for part in (before, put, after) if part)
    return out.strip()


def stars_admitted(value: str) -> frozenset[int] | None:
    """Which star counts (0-5) a `stars:` value lets through; None if it is malformed."""
    match = _STARS.fullmatch(value.strip())
    if not match:
        return None
    op, count = match.group(1) or "=", int(match.group(2))
    tests = {
        "=": lambda n: n == count,
        ">": lambda n: n > count,
        "<": lambda n: n < count,
        ">=": lambda n: n >= count,
        "<=": lambda n: n <= count,
    }
    return frozenset(n for n in range(6) if tests[op](n))
