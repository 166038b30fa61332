"""What the lifecycle's mutants showed untested: the Chinese names people read for each state,
action and role, and which moves the office makes by reviewing a check-in."""

from __future__ import annotations

import re

from models.lifecycle import (
    ACTION_LABELS,
    REVIEWED,
    ROLE_LABELS,
    STATE_LABELS,
    Action,
    Role,
    State,
)
from tests.test_readme_lifecycle import readme_rows


def chinese_names_in_the_readme() -> dict[str, str]:
    """Each word of the README's lifecycle table written beside its Chinese name
    ("assigned 已交办", "verify 核验通过")."""
    names: dict[str, str] = {}
    for row in readme_rows():
        for cell in (row["from"], row["action"], row["to"]):
            for word, chinese in re.findall(r"([a-z_]+) ([\u4e00-\u9fff]+)", cell):
                assert names.setdefault(word, chinese) == chinese, f"{word} named twice: {cell}"
    return names


def test_every_state_shows_the_chinese_name_the_readme_gives_it() -> None:
    names = chinese_names_in_the_readme()
    assert {state: STATE_LABELS[state][0] for state in State} == {
        state: names[state.value] for state in State
    }


def test_every_action_shows_the_chinese_name_the_readme_gives_it() -> None:
    names = chinese_names_in_the_readme()
    assert {action: ACTION_LABELS[action][0] for action in Action} == {
        action: names[action.value] for action in Action
    }


def test_every_role_has_the_chinese_name_the_office_uses() -> None:
    # As DESIGN.md names the users (督办员, 联络员) and the office calls the others.
    assert {role: ROLE_LABELS[role][0] for role in Role} == {
        Role.OFFICE_ADMIN: "办公室管理员",
        Role.OFFICE_STAFF: "督办员",
        Role.UNIT: "单位联络员",
        Role.LEADER: "领导",
        Role.AUDITOR: "审计员",
        Role.SYSTEM: "系统",
    }


def test_the_office_verifies_or_returns_a_report_only_by_reviewing_its_check_in() -> None:
    # The README's two moves out of "reported", both the office's: the review page makes them.
    assert set(REVIEWED) == {Action.VERIFY, Action.RETURN}
