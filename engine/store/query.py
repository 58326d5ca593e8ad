"""The gallery's search language, parsed to an SQL WHERE clause with parameters.

No text the user typed is ever formatted into SQL or into an FTS5 expression: each
word becomes an FTS5 string ("..." with quotes doubled) passed as a parameter, and each
filter value a parameter of a fixed clause. Malformed terms raise BadInput naming them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from engine.api.errors import BadInput
from engine.store.record_fields import MODE_WORDS, MODES, OURS

QUERY_HELP = """Search the gallery (words match the start of words in the prompt, negative
prompt, model, LoRA and embedding names, sampler and file name):
  fox castle        pictures with both words (fox finds foxes too)
  "red fox"         the exact phrase
  -blurry           without that word (any filter can be negated too: -board:rejects)
  model:juggernaut  model name contains the text
  seed:1234         that seed
  stars:>=3         stars (also stars:5, stars:>2, stars:<3, stars:<=1); starred: 1 or more
  board:NAME        on that board (board:"my picks" for a name with spaces)
  mode:inpaint      text, img2img, inpaint, upscale, lab, other
  size:512x768      width x height
  after:2026-01-01  made on or after that day; before:2026-02-01 made before it
  tool:comfyui      made by that tool (ours, a1111, comfyui, invokeai...; other: not ours)
  sampler:euler     sampler name contains the text
  family:NAME       that picture (file name or path), what it was made from and what
                    was made from it, all the way up and down"""

MAX_QUERY = 1_000  # characters
MAX_TERMS = 64
_KEY = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)
_STARS = re.compile(r"(>=|<=|=|>|<)?([0-9]+)")
_SIZE = re.compile(r"([0-9]{1,6})[xX×]([0-9]{1,6})")
_WORDY = re.compile(r"\w")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FTS = "images.id IN (SELECT rowid FROM images_fts WHERE images_fts MATCH ?)"
_COMPARE = {
    "=": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}


@dataclass(frozen=True)
class Query:
    where: str  # an SQL expression over `images`, with ? placeholders
    params: tuple
    selective: bool = False  # a seed: few matches, best found through the seed's index


@dataclass(frozen=True)
class Term:
    """One term of a query, where it is in the text (the GUI's filter widgets edit it)."""

    start: int
    end: int  # text[start:end] is the term as typed
    negated: bool
    key: str  # a filter's name; "" for a free word or phrase
    value: str
    phrase: bool  # quoted
    text: str  # as typed, for messages


def parse_query(text: str) -> Query:
    """The WHERE of `text`; an empty query matches every picture. BadInput if malformed."""
    if not isinstance(text, str):
        raise BadInput("The search must be text.")
    if len(text) > MAX_QUERY:
        raise BadInput(f"The search is {len(text)} characters long; keep it under {MAX_QUERY}.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput("The search holds characters that are not text; type it again.") from None
    # Control characters (a NUL ends an FTS5 string early) separate words, as spaces do.
    terms = split_terms(_CONTROL.sub(" ", text))
    if len(terms) > MAX_TERMS:
        raise BadInput(f"The search has {len(terms)} terms; use at most {MAX_TERMS}.")
    clauses: list[str] = []
    params: list = []
    words = _Words([], [])
    for term in terms:
        clause = _clause(term, params, words)
        if clause:
            # COALESCE: a picture with no seed (NULL) is one a -seed:N keeps.
            clauses.append(f"NOT COALESCE(({clause}), 0)" if term.negated else clause)
    if words.wanted or words.unwanted:
        clause, match = words.clause()
        clauses.insert(0, clause)
        params.insert(0, match)
    # A seed or a family picks few pictures: best found through their own index.
    selective = any(t.key in ("seed", "family") and not t.negated for t in terms)
    return Query(" AND ".join(clauses) or "1", tuple(params), selective)


@dataclass(frozen=True)
class _Words:
    """The free words, as FTS5 strings: they make one MATCH, so FTS5 intersects and
    subtracts them itself instead of SQLite doing it over each word's whole set."""

    wanted: list[str]
    unwanted: list[str]

    def clause(self) -> tuple[str, str]:
        unwanted = " OR ".join(self.unwanted)
        if not self.wanted:
            return f"NOT ({_FTS})", unwanted
        match = " AND ".join(self.wanted)
        return _FTS, f"({match}) NOT ({unwanted})" if unwanted else match


def split_terms(text: str) -> list[Term]:
    """Terms separated by spaces; a quote runs to the next quote (or the end, so a
    search typed letter by letter never fails half-way through a phrase)."""
    terms: list[Term] = []
    at = 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        start = at
        negated = text[at] == "-" and at + 1 < len(text) and not text[at + 1].isspace()
        at += negated
        key = ""
        match = re.match(r"[A-Za-z]+:", text[at:])
        if match and match.group(0)[:-1].lower() in _FILTERS:
            key = match.group(0)[:-1].lower()
            at += len(match.group(0))
        phrase = at < len(text) and text[at] == '"'
        if phrase:
            end = text.find('"', at + 1)
            end = len(text) if end < 0 else end
            value, at = text[at + 1 : end], end + 1
        else:
            end = at
            while end < len(text) and not text[end].isspace():
                end += 1
            value, at = text[at:end], end
        terms.append(Term(start, min(at, len(text)), negated, key, value, phrase, text[start:at]))
    return terms


def _clause(term: Term, params: list, words: _Words) -> str:
    if term.key:
        return _FILTERS[term.key](term, params)
    if not term.phrase and _KEY.fullmatch(term.value) and term.value.split(":")[0].isalpha():
        name = term.value.split(":")[0]
        raise BadInput(
            f"{term.text!r}: {name}: is not a filter; the filters are "
            f"{', '.join(k + ':' for k in sorted(_FILTERS) if k != 'starred')} and starred "
            "(put it in quotes to search for the text itself)."
        )
    if term.value.lower() == "starred" and not term.phrase:
        return _stars(">=", 1, params)
    if not _WORDY.search(term.value):
        return ""  # punctuation alone (`*`, `"`, `(`) names no word: it filters nothing
    fts = _fts_string(term.value)
    # A typed word matches the start of words (prefix); an excluded word or a phrase
    # matches whole words, so -cat does not hide "catalog".
    if term.negated:
        words.unwanted.append(fts)
    else:
        words.wanted.append(fts if term.phrase else f"{fts} *")
    return ""


def _fts_string(value: str) -> str:
    """An FTS5 string: its tokens, in order, as one phrase. Quotes are doubled, so no
    operator (AND, NEAR, *, ^, :, parentheses) in it means anything to FTS5."""
    return '"' + value.replace('"', '""') + '"'


def _need(term: Term) -> str:
    value = term.value.strip()
    if not value:
        raise BadInput(f"{term.text!r} has nothing after the colon: write {term.key}:VALUE.")
    return value


def _contains(column: str) -> Callable[[Term, list], str]:
    def clause(term: Term, params: list) -> str:
        value = _need(term).lower()
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params.append(f"%{escaped}%")
        return f"lower(images.{column}) LIKE ? ESCAPE '\\'"

    return clause


def _seed(term: Term, params: list) -> str:
    value = _need(term)
    if not re.fullmatch(r"-?[0-9]{1,20}", value) or not -(2**63) <= int(value) < 2**63:
        raise BadInput(f"{term.text!r}: a seed is a whole number, like seed:1234.")
    params.append(int(value))
    return "images.seed = ?"


def _stars_filter(term: Term, params: list) -> str:
    match = _STARS.fullmatch(_need(term))
    if not match or int(match.group(2)) > 5:
        raise BadInput(
            f"{term.text!r}: stars are 0 to 5, optionally after =, >, <, >= or <= (stars:>=3)."
        )
    return _stars(match.group(1) or "=", int(match.group(2)), params)


def _stars(op: str, count: int, params: list) -> str:
    """`marks` holds only starred pictures (1-5): a test that 0 stars fails looks them up
    there; one that 0 passes excludes the starred pictures that fail it."""
    params.append(count)
    # op is one of _COMPARE's five operators (from _STARS' match), never typed text.
    if _COMPARE[op](0, count):
        return f"images.path NOT IN (SELECT path FROM marks WHERE NOT (stars {op} ?))"
    return f"images.path IN (SELECT path FROM marks WHERE stars {op} ?)"


def _starred(term: Term, params: list) -> str:
    if term.value:
        raise BadInput(f"{term.text!r}: starred takes no value; write starred or stars:>=N.")
    return _stars(">=", 1, params)


def _board(term: Term, params: list) -> str:
    params.append(_need(term))
    return (
        "images.path IN (SELECT m.path FROM board_members m "
        "JOIN boards b ON b.id = m.board_id WHERE b.name = ?)"
    )


def _mode(term: Term, params: list) -> str:
    mode = MODE_WORDS.get(_need(term).lower())
    if mode is None:
        raise BadInput(f"{term.text!r}: the modes are {', '.join(MODES)}.")
    params.append(mode)
    return "images.mode = ?"


def _size(term: Term, params: list) -> str:
    match = _SIZE.fullmatch(_need(term))
    if not match:
        raise BadInput(f"{term.text!r}: write a size as WIDTHxHEIGHT, like size:512x768.")
    params.extend((int(match.group(1)), int(match.group(2))))
    return "(images.width = ? AND images.height = ?)"


def _day(term: Term) -> float:
    value = _need(term)
    try:
        when = datetime.fromisoformat(value)
        if when.tzinfo is None:
            when = when.astimezone()  # the user's own day
        return when.timestamp()
    except (ValueError, OverflowError, OSError):
        raise BadInput(
            f"{term.text!r}: write a date as YEAR-MONTH-DAY, like {term.key}:2026-01-31."
        ) from None


def _after(term: Term, params: list) -> str:
    params.append(_day(term))
    return "images.created >= ?"


def _before(term: Term, params: list) -> str:
    params.append(_day(term))
    return "images.created < ?"


def _tool(term: Term, params: list) -> str:
    tool = _need(term).lower()
    if tool in ("other", "others", "foreign"):
        params.append(OURS)
        return "images.source != ?"
    params.append(tool)
    return "images.source = ?"


# The picture, then every ancestor and descendant through `links`. The picture is found
# by its key, or by the key an absolute path ends with (each tail of the path is tried
# through the unique index), or by a file name (FTS5's file name column finds the few
# candidates, the tail check keeps the exact ones): never a scan of every path. UNION
# (not UNION ALL) drops rows already found, so a cycle in hostile recipes ends.
_FAMILY = """images.path IN (
    WITH RECURSIVE
        seed(p) AS MATERIALIZED (SELECT path FROM images WHERE path IN ({tails}){by_name}),
        up(p) AS (SELECT p FROM seed UNION SELECT l.parent FROM links l JOIN up ON l.child = up.p),
        down(p) AS (SELECT p FROM seed
            UNION SELECT l.child FROM links l JOIN down ON l.parent = down.p)
    SELECT p FROM up UNION SELECT p FROM down)"""
_BY_NAME = """ UNION SELECT path FROM images
            WHERE images.id IN (SELECT rowid FROM images_fts WHERE images_fts MATCH ?)
            AND substr(path, -length(?) - 1) = '/' || ?"""
MAX_TAILS = 32  # path parts tried as a key: deeper than any gallery's folders


def _family(term: Term, params: list) -> str:
    value = _need(term).replace("\\", "/").rstrip("/")
    parts = [p for p in value.split("/") if p]
    if not parts:
        raise BadInput(f"{term.text!r}: name a picture, like family:NAME.png.")
    tails = ["/".join(parts[i:]) for i in range(max(0, len(parts) - MAX_TAILS), len(parts))]
    params.extend(tails)
    by_name = ""
    name = parts[-1]
    if len(parts) == 1 and _WORDY.search(name):
        params.extend([f"filename : {_fts_string(name)}", name, name])
        by_name = _BY_NAME
    return _FAMILY.format(tails=", ".join("?" * len(tails)), by_name=by_name)


_FILTERS: dict[str, Callable[[Term, list], str]] = {
    "model": _contains("model"),
    "sampler": _contains("sampler"),
    "seed": _seed,
    "stars": _stars_filter,
    "starred": _starred,
    "board": _board,
    "mode": _mode,
    "size": _size,
    "after": _after,
    "before": _before,
    "tool": _tool,
    "family": _family,
}
