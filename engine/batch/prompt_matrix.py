"""A1111's prompt matrix (our own code): `base|a|b` makes every combination of the
optional parts — base; base, a; base, b; base, a, b — 2^(n-1) prompts for n parts.

Combination k takes optional part i when bit i of k is set, in A1111's order, so a
matrix's pictures come out as A1111 numbers them. Each optional part is stripped of
spaces and commas; with `at_start` the chosen parts go before the base ("put variable
parts at start"). Only a `|` outside wildcard braces splits, so `{red|green}` stays one
wildcard inside a part.
"""

from __future__ import annotations

from engine.api.errors import BadInput
from engine.batch.wildcards import split_top_level

MAX_PARTS = 12  # 2^11 = 2048 prompts: more is surely a mistake


def matrix_prompts(prompt: str, at_start: bool = False, joiner: str = ", ") -> list[str]:
    """Every combination of the prompt's optional parts, in A1111's order."""
    parts = split_top_level(prompt, "|")
    if len(parts) > MAX_PARTS:
        raise BadInput(
            f"The prompt matrix has {len(parts)} parts, which makes {2 ** (len(parts) - 1)} "
            f"pictures; at most {MAX_PARTS} parts: split the batch."
        )
    base, optional = parts[0], [part.strip().strip(",") for part in parts[1:]]
    prompts = []
    for combination in range(2 ** len(optional)):
        chosen = [part for i, part in enumerate(optional) if combination >> i & 1]
        ordered = [*chosen, base] if at_start else [base, *chosen]
        prompts.append(joiner.join(ordered))
    return prompts
