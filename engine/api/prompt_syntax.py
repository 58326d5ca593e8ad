"""AUTOMATIC1111's prompt syntax: attention weights, BREAK, and <lora:name:weight> tags.

    (word)        weight × 1.1, nested: ((word)) × 1.21
    (word:1.3)    weight × 1.3
    [word]        weight ÷ 1.1
    \\( \\) \\[ \\]  literal brackets;  \\\\ a literal backslash
    BREAK         starts a new 75-token chunk
    <lora:NAME:W> applies the LoRA file NAME at weight W (default 1) and is not text

An unclosed bracket applies to the end of the prompt, as in A1111; a closing bracket
with nothing open is plain text. Plain Python: the GUI highlights with it, the engine
encodes with it, and both must agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROUND = 1.1
SQUARE = 1 / 1.1
BREAK = "BREAK"
LORA_TAG = re.compile(r"<lora:([^:>]+)(?::([^:>]*))?(?::[^>]*)?>", re.IGNORECASE)
# One token of the attention syntax, in the order they are tried.
_TOKEN = re.compile(
    r"\\[()\[\]\\]"  # an escaped bracket or backslash
    r"|\\"  # a lone backslash: kept as text
    r"|\(|\["  # an opening bracket
    r"|:\s*([+-]?[.\d]+)\s*\)"  # ':1.3)' closes a round bracket with a weight
    r"|\)|\]"  # a closing bracket
    r"|[^\\()\[\]:]+"  # plain text
    r"|:"  # a colon that is not a weight
)
_BREAK = re.compile(r"\s*\bBREAK\b\s*")


@dataclass(frozen=True)
class LoraTag:
    name: str
    weight: float
    start: int  # where the tag is in the prompt, for highlighting
    end: int


def lora_tags(text: str) -> list[LoraTag]:
    tags = []
    for match in LORA_TAG.finditer(text):
        weight_text = (match.group(2) or "").strip()
        try:
            weight = float(weight_text) if weight_text else 1.0
        except ValueError:
            weight = float("nan")  # the request's check names the tag
        tags.append(LoraTag(match.group(1).strip(), weight, match.start(), match.end()))
    return tags


def without_lora_tags(text: str) -> str:
    return LORA_TAG.sub("", text)


def plain_words(text: str) -> str:
    """The words a prompt says, without its syntax: no <lora:…> tags, weights, brackets
    or BREAK ("(masterpiece:1.2), <lora:x:0.8> cat" -> "masterpiece,  cat")."""
    return " ".join(part for part, weight in parse_attention(without_lora_tags(text)) if weight > 0)


def parse_attention(text: str) -> list[tuple[str, float]]:
    """[(text, weight)] runs of the prompt; (BREAK, -1) marks a chunk break."""
    runs: list[list] = []
    open_round: list[int] = []
    open_square: list[int] = []

    def scale_from(start: int, factor: float) -> None:
        for run in runs[start:]:
            if run[1] >= 0:  # a BREAK marker keeps its -1
                run[1] *= factor

    for match in _TOKEN.finditer(text):
        token, weight = match.group(0), match.group(1)
        if len(token) == 2 and token.startswith("\\"):
            runs.append([token[1], 1.0])
        elif token == "(":
            open_round.append(len(runs))
        elif token == "[":
            open_square.append(len(runs))
        elif weight is not None and open_round:
            scale_from(open_round.pop(), float(weight))
        elif token == ")" and open_round:
            scale_from(open_round.pop(), ROUND)
        elif token == "]" and open_square:
            scale_from(open_square.pop(), SQUARE)
        else:
            for i, part in enumerate(_BREAK.split(token)):
                if i:
                    runs.append([BREAK, -1.0])
                runs.append([part, 1.0])
    for start in open_round:
        scale_from(start, ROUND)
    for start in open_square:
        scale_from(start, SQUARE)
    return _merged(runs) or [("", 1.0)]


def _merged(runs: list[list]) -> list[tuple[str, float]]:
    """Neighbours of equal weight become one run; empty runs go."""
    out: list[list] = []
    for text, weight in runs:
        if not text and weight != -1.0:
            continue
        if out and out[-1][1] == weight and weight != -1.0:
            out[-1][0] += text
        else:
            out.append([text, weight])
    return [(text, weight) for text, weight in out]


def needs_weighting(text: str) -> bool:
    """Whether the prompt uses any weighting syntax or BREAK (plain prompts go to the
    pipeline unchanged, exactly as a bare diffusers call would encode them)."""
    runs = parse_attention(without_lora_tags(text))
    return any(weight != 1.0 for _, weight in runs)


def literal_text(text: str) -> str:
    """The text the tokenizer reads for a prompt without weights: escapes resolved
    (`\\(` is `(`, `\\\\` is `\\`) and brackets of weight 1, such as `(word:1.0)`,
    gone, as A1111 reads them. Only meaningful when needs_weighting(text) is False."""
    return "".join(run for run, _ in parse_attention(text))


def unbalanced(text: str) -> str | None:
    """A sentence when brackets do not pair up (the prompt still works, as in A1111)."""
    depth = {"(": 0, "[": 0}
    for match in _TOKEN.finditer(without_lora_tags(text)):
        token = match.group(0)
        if token in depth:
            depth[token] += 1
        elif (token == ")" or match.group(1) is not None) and depth["("]:
            depth["("] -= 1
        elif token == "]" and depth["["]:
            depth["["] -= 1
        elif token in (")", "]"):
            return f"A '{token}' closes nothing; it is read as text."
    for bracket, count in depth.items():
        if count:
            return f"{count} '{bracket}' never closed: it weights the rest of the prompt."
    return None


# ---------------------------------------------------------------- chunk layout


def layout_chunks(
    runs: list[tuple[str, float]], tokenize, comma: int, size: int = 75, backtrack: int = 20
) -> list[list[tuple[int, float]]]:
    """Tokens of weighted runs laid into chunks of at most `size`, as A1111 lays them: a
    BREAK closes the chunk; a full chunk is cut after its last comma when that comma is
    within the last `backtrack` tokens, and what follows the comma moves on."""
    chunks: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    last_comma = -1
    for run, weight in runs:
        if weight == -1.0 and run == BREAK:
            chunks.append(current)
            current, last_comma = [], -1
            continue
        for token in tokenize(run):
            if len(current) == size:
                carried: list[tuple[int, float]] = []
                if last_comma >= 0 and size - last_comma <= backtrack:
                    carried = current[last_comma + 1 :]
                    del current[last_comma + 1 :]
                chunks.append(current)
                current, last_comma = carried, -1
            if token == comma:
                last_comma = len(current)
            current.append((token, weight))
    if current or not chunks:
        chunks.append(current)
    return chunks


# ---------------------------------------------------------------- editing help


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    weight: float  # of the text; brackets and tags carry the weight around them
    kind: str  # "text", "bracket", "lora", "break"


def spans(text: str) -> list[Span]:
    """Where each part of the prompt is, and its weight, for highlighting: the same walk
    as parse_attention, keeping positions. An unclosed bracket weights the rest of the
    prompt, as A1111 reads it."""
    out: list[list] = []  # [start, end, weight, kind]
    open_round: list[int] = []
    open_square: list[int] = []

    def scale_from(index: int, factor: float) -> None:
        for span in out[index:]:
            span[2] *= factor

    tags = [(m.start(), m.end()) for m in LORA_TAG.finditer(text)]
    position = 0
    for tag_start, tag_end in [*tags, (len(text), len(text))]:
        for match in _TOKEN.finditer(text, position, tag_start):
            token, weight = match.group(0), match.group(1)
            start, end = match.span()
            if token in ("(", "["):
                (open_round if token == "(" else open_square).append(len(out))
                out.append([start, end, 1.0, "bracket"])
            elif weight is not None and open_round:
                out.append([start, end, 1.0, "bracket"])
                scale_from(open_round.pop(), float(weight))
            elif token == ")" and open_round:
                out.append([start, end, 1.0, "bracket"])
                scale_from(open_round.pop(), ROUND)
            elif token == "]" and open_square:
                out.append([start, end, 1.0, "bracket"])
                scale_from(open_square.pop(), SQUARE)
            else:
                out.extend([a, b, 1.0, kind] for a, b, kind in _split_break(token, start))
        if tag_start < len(text):
            out.append([tag_start, tag_end, 1.0, "lora"])
        position = tag_end
    for index in open_round:
        scale_from(index, ROUND)
    for index in open_square:
        scale_from(index, SQUARE)
    return [Span(*span) for span in out]


def _split_break(token: str, offset: int) -> list[tuple[int, int, str]]:
    pieces, cursor = [], 0
    for match in re.finditer(r"\bBREAK\b", token):
        if match.start() > cursor:
            pieces.append((offset + cursor, offset + match.start(), "text"))
        pieces.append((offset + match.start(), offset + match.end(), "break"))
        cursor = match.end()
    if cursor < len(token):
        pieces.append((offset + cursor, offset + len(token), "text"))
    return pieces


_WEIGHTED = re.compile(r"\(([^()\[\]]*):\s*([+-]?[.\d]+)\s*\)")


def adjust_weight(text: str, start: int, end: int, step: float) -> tuple[str, int, int]:
    """Ctrl+Up/Down, as A1111's editor does it: the selection (or the word at the cursor)
    becomes '(text:1.1)'; inside '(text:1.1)' the number moves by `step`. Returns the new
    text and the new selection (the text inside the brackets)."""
    for match in _WEIGHTED.finditer(text):
        if match.start() <= start and end <= match.end():
            value = round(float(match.group(2)) + step, 2)
            inner = match.group(1)
            replaced = f"({inner}:{value:g})"
            new = text[: match.start()] + replaced + text[match.end() :]
            return new, match.start() + 1, match.start() + 1 + len(inner)
    if start == end:
        start, end = _word_at(text, start)
        if start == end:
            return text, start, end
    inner = text[start:end]
    value = round(1.0 + step, 2)
    new = f"{text[:start]}({inner}:{value:g}){text[end:]}"
    return new, start + 1, start + 1 + len(inner)


def _word_at(text: str, position: int) -> tuple[int, int]:
    start = position
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_-'"):
        start -= 1
    end = position
    while end < len(text) and (text[end].isalnum() or text[end] in "_-'"):
        end += 1
    return start, end
