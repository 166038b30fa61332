"""The assignment lifecycle: one table of (state, action) -> state.

This module is the single source of truth for what may happen to an
assignment and who may make it happen. It is pure data and pure functions:
no database, no clock. The use cases in `models.workflow` ask it; the CLI and
the portal ask `available_actions` so they only offer legal buttons.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol


class State(StrEnum):
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    REPORTED = "reported"
    VERIFIED = "verified"
    CLOSED = "closed"


class Action(StrEnum):
    SIGN = "sign"  # 签收
    PROGRESS = "progress"  # a progress check-in; the first one also counts as signing
    REPORT = "report"  # the completion report
    VERIFY = "verify"  # the office accepts the report
    RETURN = "return"  # the office sends the report back for rework
    CLOSE = "close"  # 销号
    REOPEN = "reopen"


class Role(StrEnum):
    OFFICE_ADMIN = "office_admin"
    OFFICE_STAFF = "office_staff"
    UNIT = "unit"
    LEADER = "leader"
    AUDITOR = "auditor"
    SYSTEM = "system"  # scheduled flows


TRANSITIONS: Final[dict[tuple[State, Action], State]] = {
    (State.ASSIGNED, Action.SIGN): State.IN_PROGRESS,
    (State.ASSIGNED, Action.PROGRESS): State.IN_PROGRESS,
    (State.IN_PROGRESS, Action.PROGRESS): State.IN_PROGRESS,
    (State.IN_PROGRESS, Action.REPORT): State.REPORTED,
    (State.REPORTED, Action.VERIFY): State.VERIFIED,
    (State.REPORTED, Action.RETURN): State.IN_PROGRESS,
    (State.VERIFIED, Action.CLOSE): State.CLOSED,
    (State.CLOSED, Action.REOPEN): State.IN_PROGRESS,
}

OFFICE: Final = frozenset({Role.OFFICE_ADMIN, Role.OFFICE_STAFF})

# Who may take each action. Unit actions may also be recorded by the office on
# a unit's behalf (a unit that phones its report in); the audit trail names
# who actually did it.
PERMITTED: Final[dict[Action, frozenset[Role]]] = {
    Action.SIGN: OFFICE | {Role.UNIT},
    Action.PROGRESS: OFFICE | {Role.UNIT},
    Action.REPORT: OFFICE | {Role.UNIT},
    Action.VERIFY: OFFICE,
    Action.RETURN: OFFICE,
    Action.CLOSE: OFFICE,
    Action.REOPEN: OFFICE,
}

NEEDS_REASON: Final = frozenset({Action.RETURN, Action.REOPEN})

# Moves that only a filing makes: a progress check-in, or the completion report.
# A bare button press for them would leave nothing for the office to review
# (an assignment reported with its check-in still pending, stuck) or reset the
# idle clock with nothing filed.
FILED: Final = frozenset({Action.PROGRESS, Action.REPORT})

# States in which the unit's part of the work counts as handed in.
HANDED_IN: Final = frozenset({State.REPORTED, State.VERIFIED, State.CLOSED})

STATE_LABELS: Final[dict[State, tuple[str, str]]] = {
    State.ASSIGNED: ("已交办", "assigned"),
    State.IN_PROGRESS: ("办理中", "in progress"),
    State.REPORTED: ("已报结", "reported"),
    State.VERIFIED: ("已核验", "verified"),
    State.CLOSED: ("已销号", "closed"),
}

ACTION_LABELS: Final[dict[Action, tuple[str, str]]] = {
    Action.SIGN: ("签收", "sign"),
    Action.PROGRESS: ("报送进展", "report progress"),
    Action.REPORT: ("报送办结", "report completion"),
    Action.VERIFY: ("核验通过", "verify"),
    Action.RETURN: ("退回", "return"),
    Action.CLOSE: ("销号", "close"),
    Action.REOPEN: ("重新打开", "reopen"),
}

ROLE_LABELS: Final[dict[Role, tuple[str, str]]] = {
    Role.OFFICE_ADMIN: ("办公室管理员", "office admin"),
    Role.OFFICE_STAFF: ("督办员", "office staff"),
    Role.UNIT: ("单位联络员", "unit liaison"),
    Role.LEADER: ("领导", "leader"),
    Role.AUDITOR: ("审计员", "auditor"),
    Role.SYSTEM: ("系统", "system"),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a user name, a role, and for unit users their unit."""

    name: str
    role: Role
    unit_id: int | None = None


SYSTEM_ACTOR: Final = Actor(name="system", role=Role.SYSTEM)


class HasLifecycle(Protocol):
    # Read-only, so that a row whose state is a State (a str) satisfies it.
    @property
    def state(self) -> str: ...
    @property
    def unit_id(self) -> int: ...


def next_state(state: State | str, action: Action) -> State | None:
    """The state an action leads to, or None when the table has no such move."""
    return TRANSITIONS.get((State(state), action))


def may_act(actor: Actor, action: Action, unit_id: int) -> bool:
    """Whether the actor's role (and, for unit users, their unit) allows the action."""
    if actor.role not in PERMITTED[action]:
        return False
    return actor.role != Role.UNIT or actor.unit_id == unit_id


def available_actions(assignment: HasLifecycle, actor: Actor) -> list[Action]:
    """The actions this actor may take on this assignment now, in table order."""
    state = State(assignment.state)
    return [
        action
        for (from_state, action) in TRANSITIONS
        if from_state == state and may_act(actor, action, assignment.unit_id)
    ]
