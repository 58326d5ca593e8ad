"""The filter widgets under the gallery's search field edit the query text (issue 24):
a widget's choice becomes a token the query parser reads as that filter, a token typed
moves the widget, and every other term stays as typed.

The parser (engine/store/query.py) is the oracle: the edited text must parse to the same
clauses and parameters as a query written out by hand.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtWidgets import QLineEdit

from engine.store.query import parse_query
from gui.gallery_filters import FilterRow
from gui.query_edit import stars_admitted, value_of, with_filter


def same_filter(edited: str, by_hand: str) -> bool:
    """Both texts parse to the same clauses and parameters (in any order)."""
    a, b = parse_query(edited), parse_query(by_hand)
    return Counter(a.where.split(" AND ")) == Counter(b.where.split(" AND ")) and Counter(
        map(repr, a.params)
    ) == Counter(map(repr, b.params))


@pytest.mark.parametrize(
    ("text", "key", "value", "replaces", "expected"),
    [
        ("fox -blurry", "stars", ">=3", (), "fox -blurry stars:>=3"),
        ("fox stars:5 wolf", "stars", ">=2", ("starred",), "fox stars:>=2 wolf"),
        ("fox starred wolf", "stars", None, ("starred",), "fox wolf"),
        ("fox starred wolf", "stars", "0", ("starred",), "fox stars:0 wolf"),
        ("board:a fox board:b", "board", "my picks", (), 'board:"my picks" fox'),
        ("fox -board:rejects", "board", "keep", (), "fox -board:rejects board:keep"),
        ("fox -board:rejects", "board", None, (), "fox -board:rejects"),
        ('"red fox" mode:inpaint', "mode", "text", (), '"red fox" mode:text'),
        ("tool:other fox", "tool", None, (), "fox"),
        ("", "seed", "42", (), "seed:42"),
    ],
)
def test_a_filter_is_added_replaced_or_removed_in_the_text(text, key, value, replaces, expected):
    edited = with_filter(text, key, value, replaces)
    assert edited == expected
    assert same_filter(edited, expected)


def test_tokens_are_read_as_the_parser_reads_them():
    text = 'fox -stars:5 board:"my picks" Model:juggernaut "seed:1" starred'
    assert value_of(text, "stars") is None  # negated: the user's own, not the widget's
    assert value_of(text, "board") == "my picks"
    assert value_of(text, "model") == "juggernaut"  # keys are case-insensitive
    assert value_of(text, "seed") is None  # quoted: a phrase, not a filter
    assert value_of(text, "starred") == ""


@pytest.mark.parametrize("value", ["0", "5", "=2", ">2", "<3", ">=1", "<=4"])
def test_stars_admitted_agrees_with_the_comparison(value):
    op = value.rstrip("0123456789") or "="
    count = int(value[len(op) if value[0] in "<>=" else 0 :])
    compare = {"=": int.__eq__, ">": int.__gt__, "<": int.__lt__, ">=": int.__ge__}
    compare["<="] = int.__le__
    assert stars_admitted(value) == {n for n in range(6) if compare[op](n, count)}


WORD = st.text(alphabet="abcdefghij", min_size=1, max_size=6).filter(
    lambda w: w not in ("starred",)
)
FILTERS = {
    "stars": st.sampled_from(["0", ">=1", ">=3", "5", "<2"]),
    "mode": st.sampled_from(["text", "img2img", "inpaint", "upscale", "lab"]),
    "board": st.sampled_from(["keep", "my picks", "zoo 2"]),
    "seed": st.integers(0, 2**31).map(str),
    "size": st.sampled_from(["512x768", "64x64"]),
    "model": st.sampled_from(["sd15", "juggernaut"]),
    "after": st.sampled_from(["2026-01-01", "2025-12-31"]),
}


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(WORD, max_size=4),
    edits=st.lists(
        st.sampled_from(sorted(FILTERS)).flatmap(
            lambda k: st.tuples(st.just(k), st.none() | FILTERS[k])
        ),
        max_size=8,
    ),
)
def test_any_sequence_of_widget_edits_parses_as_the_last_choice_of_each(words, edits):
    text = " ".join(words)
    last: dict[str, str | None] = {}
    for key, value in edits:
        text = with_filter(text, key, value)
        last[key] = value
    chosen = {k: v for k, v in last.items() if v is not None}
    by_hand = " ".join(
        [*words, *(f'{k}:"{v}"' if " " in v else f"{k}:{v}" for k, v in chosen.items())]
    )
    assert same_filter(text, by_hand)
    assert {k: value_of(text, k) for k in FILTERS if value_of(text, k) is not None} == chosen


# ------------------------------------------------------------ the widgets


@pytest.fixture
def row(qtbot):
    field = QLineEdit()
    filters = FilterRow(field)
    qtbot.addWidget(field)
    qtbot.addWidget(filters)
    return filters


def choose(combo, title: str) -> None:
    index = combo.findText(title)
    assert index >= 0, title
    combo.setCurrentIndex(index)
    combo.activated.emit(index)  # as a user's choice does


def test_the_stars_combo_writes_a_token_and_typing_moves_it(row):
    row.field.setText("fox")
    choose(row.stars, "★ 3 or more")
    assert row.field.text() == "fox stars:>=3"
    assert same_filter(row.field.text(), "fox stars:>=3")
    row.field.setText("fox starred")  # typed: the same as 1 or more
    assert row.stars.currentText() == "★ 1 or more"
    row.field.setText("fox stars:<3")  # no item for it: shown as typed
    assert row.stars.currentText() == "stars:<3"
    choose(row.stars, "Any stars")
    assert row.field.text() == "fox"
    assert row.stars.count() == 7  # the typed item went with the token


def test_the_mode_and_board_combos_and_the_other_tools_toggle(row, qtbot):
    row.set_boards(["my picks", "zoo"])
    row.field.setText("wolf")
    choose(row.mode, "Inpaint")
    choose(row.board, "my picks")
    assert row.field.text() == 'wolf mode:inpaint board:"my picks"'
    assert same_filter(row.field.text(), 'wolf mode:inpaint board:"my picks"')
    row.other_tools.click()
    assert row.field.text().endswith(" tool:other")
    row.other_tools.click()
    assert "tool:" not in row.field.text()
    row.field.setText("mode:txt2img board:ZOO")  # the parser's words, any case
    assert row.mode.currentText() == "Text to image"
    assert row.board.currentText() == "zoo"
    assert not row.other_tools.isChecked()


def test_the_more_fields_write_their_tokens_and_follow_the_text(row):
    seed = row.more_fields["seed"]
    seed.setText("42")
    seed.editingFinished.emit()
    row.more_fields["size"].setText("512x768")
    row.more_fields["size"].editingFinished.emit()
    assert row.field.text() == "seed:42 size:512x768"
    assert same_filter(row.field.text(), "size:512x768 seed:42")
    assert row.more.text() == "More (2)…"
    row.field.setText("after:2026-01-01 fox")
    assert row.more_fields["after"].text() == "2026-01-01"
    assert seed.text() == ""
    seed.setText("")
    seed.editingFinished.emit()
    assert row.field.text() == "after:2026-01-01 fox"


# ------------------------------------------------------------ on the real window


def test_a_filter_widget_filters_the_grid_and_is_back_after_a_restart(qtbot, settings, trash):
    from engine.store import GalleryStore
    from gui.app import create_main_window
    from gui.gallery_model import PathRole
    from tests.test_store import sd, txt2img_batch

    with GalleryStore(settings.output_dir) as store:
        saved = {}
        for prompt, seed in {"fox": 1, "owl": 2, "wolf": 3}.items():
            request = sd(prompt, seed)
            saved[prompt] = str(store.save(txt2img_batch(request)[0], request))
        store.set_stars([saved["owl"]], 4)
        store.add_to_board([saved["wolf"]], "zoo")

    def shown(panel) -> set[str]:
        return {panel.model.index(r, 0).data(PathRole) for r in range(panel.model.rowCount())}

    first = create_main_window(settings)
    qtbot.addWidget(first)
    first.set_mode(first.modes.index(first.gallery_panel))
    panel = first.gallery_panel
    filters = panel.search_bar.filters
    qtbot.waitUntil(lambda: filters.board.findText("zoo") >= 0)  # read off the GUI thread
    choose(filters.stars, "★ 3 or more")
    qtbot.waitUntil(lambda: panel.model.query == "stars:>=3")
    assert shown(panel) == {saved["owl"]}
    choose(filters.stars, "Any stars")
    choose(filters.board, "zoo")
    qtbot.waitUntil(lambda: panel.model.query == "board:zoo")
    assert shown(panel) == {saved["wolf"]}
    first.close_now()

    second = create_main_window(settings)
    qtbot.addWidget(second)
    panel = second.gallery_panel
    assert value_of(panel.query, "board") == "zoo"
    qtbot.waitUntil(lambda: panel.model.query == "board:zoo", timeout=20_000)
    qtbot.waitUntil(lambda: panel.search_bar.filters.board.currentText() == "zoo")
    assert shown(panel) == {saved["wolf"]}
    second.close_now()
