"""The README's lifecycle table against `models.lifecycle`, both ways: every row a move, every move
a row.

The README is what an office reads; a move, a guard, a reason or a role added to the code and not
to the page (or the other way round) fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from models.lifecycle import (
    FILED,
    GUARDS,
    HELD_BACK_BY_RULE,
    NEEDS_REASON,
    OFFICE,
    PERMITTED,
    TRANSITIONS,
    Action,
    Role,
    State,
)

README = Path(__file__).resolve().parent.parent / "README.md"

# How the "only when" column words each rule of the office (the guard's name in the code).
RULES = {
    "a round awaits its check-in": "filing_open",
    "a lead unit's cooperating units have reported": "cooperating_handed_in",
    "no 退办 awaits the office": "no_decline_pending",
}
WHO = {"unit": {Role.UNIT}, "office": set(OFFICE)}


def readme_rows() -> list[dict[str, str]]:
    text = README.read_text(encoding="utf-8")
    section = re.split(r"\n#{2,3} ", text.split("### The assignment lifecycle", 1)[1], maxsplit=1)[
        0
    ]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    cells = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]
    assert cells and cells[0] == ["from", "action", "to", "who", "only when"], cells[:1]
    return [
        dict(zip(["from", "action", "to", "who", "when"], row, strict=True)) for row in cells[2:]
    ]


def moves_of(row: dict[str, str]) -> list[tuple[State, Action, State]]:
    source = State(row["from"].split()[0])
    target = State(row["to"].split()[0])
    actions = [
        Action(word) for word in re.findall(r"[a-z_]+", row["action"]) if word in set(Action)
    ]
    assert actions, f"no action in the README row {row}"
    return [(source, action, target) for action in actions]


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    found = readme_rows()
    assert len(found) >= 5, f"the README's lifecycle table was not found: {found}"
    return found


def test_every_readme_row_is_a_move_of_the_table_and_every_move_a_row(
    rows: list[dict[str, str]],
) -> None:
    written = [move for row in rows for move in moves_of(row)]
    assert len(written) == len(set(written)), "a move is written twice"
    assert {(s, a): t for s, a, t in written} == TRANSITIONS


def test_the_readme_says_which_moves_need_a_reason_or_a_check_in(
    rows: list[dict[str, str]],
) -> None:
    for row in rows:
        for _, action, _ in moves_of(row):
            assert ("(reason)" in row["action"]) == (action in NEEDS_REASON), row
            assert ("(check-in)" in row["action"]) == (action in FILED), row


def test_the_readme_says_who_may_take_each_move(rows: list[dict[str, str]]) -> None:
    for row in rows:
        said = set().union(*(WHO[who.strip()] for who in row["who"].split(",")))
        for _, action, _ in moves_of(row):
            assert said == PERMITTED[action], row


def test_the_readme_names_each_rule_that_holds_a_move_back(rows: list[dict[str, str]]) -> None:
    for row in rows:
        said = {RULES[phrase.strip()] for phrase in row["when"].split(";") if phrase.strip()}
        for _, action, _ in moves_of(row):
            assert said == {g.name for g in GUARDS[action] if g.name in HELD_BACK_BY_RULE}, row
