"""The assignment lifecycle: one table of (state, action) -> state.

This module is the single source of truth for what may happen to an
assignment and who may make it happen. It is pure data and pure functions:
no database, no clock. The use cases in `models.workflow` ask it; the CLI and
the portal ask `available_actions` so they only offer legal buttons. Guards are
named predicates declared beside the table (`GUARDS`): what is offered is what
`take_action` accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
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

# Moves the office makes by reviewing the unit's check-in (`models.checkins.review_checkin`), so
# the portal offers them on the review page rather than as bare buttons.
REVIEWED: Final = frozenset({Action.VERIFY, Action.RETURN})

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
    # Read-only members, so that an `Assignment` row (`State`, `AssignmentRole`) and
    # the frozen `_Moved` both match.
    @property
    def state(self) -> str: ...
    @property
    def unit_id(self) -> int: ...
    @property
    def role(
        self,
    ) -> str: ...  # lead / responsible / cooperating (`models.assignment.AssignmentRole`)
    @property
    def withdrawn_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class Context:
    """What the guards read beyond the assignment's own row (built by
    `models.workflow.contexts_of`).

    `cooperating` is the task's cooperating units, each with its state (a lead unit waits for
    them); `filing_open` says the assignment has a check-in in an open round it may still file;
    `archived` that its plan is archived; `decline_pending` that its unit's 退办 waits for the
    office (`models.declines`).
    """

    cooperating: tuple[tuple[str, State], ...] = ()
    filing_open: bool = False
    archived: bool = False  # its plan is archived (models/archive.py): read-only
    decline_pending: bool = False


@dataclass(frozen=True, slots=True)
class Guard:
    """A named predicate an action must satisfy; `why` says in both languages what holds it back."""

    name: str
    holds: Callable[[HasLifecycle, Context, Actor, Action], bool]
    why: Callable[[HasLifecycle, Context], tuple[str, str]]


def next_state(state: State | str, action: Action) -> State | None:
    """The state an action leads to, or None when the table has no such move."""
    return TRANSITIONS.get((State(state), action))


def may_act(actor: Actor, action: Action, unit_id: int) -> bool:
    """Whether the actor's role (and, for unit users, their unit) allows the action."""
    if actor.role not in PERMITTED[action]:
        return False
    return actor.role != Role.UNIT or actor.unit_id == unit_id


def cooperating_pending(assignment: HasLifecycle, context: Context) -> list[str]:
    """The cooperating units a lead unit still waits for (none for any other role)."""
    if assignment.role != "lead":
        return []
    return [name for name, state in context.cooperating if state not in HANDED_IN]


NOT_ARCHIVED: Final = Guard(
    "not_archived",
    lambda a, c, actor, action: not c.archived,
    lambda a, c: ("its plan is archived (read-only)", "所属计划已归档，只读"),
)
NOT_WITHDRAWN: Final = Guard(
    "not_withdrawn",
    lambda a, c, actor, action: a.withdrawn_at is None,
    lambda a, c: (
        "it was withdrawn when a later version of the notice was imported",
        "该任务分工已在重新导入通知时撤销",
    ),
)
IN_TABLE: Final = Guard(
    "in_table",
    lambda a, c, actor, action: next_state(a.state, action) is not None,
    lambda a, c: ("the lifecycle has no such move from this state", "当前状态下没有这一步"),
)
PERMITTED_ACTOR: Final = Guard(
    "permitted",
    lambda a, c, actor, action: may_act(actor, action, a.unit_id),
    lambda a, c: ("this user may not take it", "当前用户无权执行"),
)
COOPERATING_HANDED_IN: Final = Guard(
    "cooperating_handed_in",
    lambda a, c, actor, action: not cooperating_pending(a, c),
    lambda a, c: (
        "cooperating units have not reported yet: " + ", ".join(cooperating_pending(a, c)),
        "配合单位尚未报结：" + "、".join(cooperating_pending(a, c)),
    ),
)
FILING_OPEN: Final = Guard(
    "filing_open",
    lambda a, c, actor, action: c.filing_open,
    lambda a, c: (
        "no open supervision round awaits a check-in from it",
        "当前没有待报送的督导轮次",
    ),
)
NO_DECLINE_PENDING: Final = Guard(
    "no_decline_pending",
    lambda a, c, actor, action: not c.decline_pending,
    lambda a, c: (
        "its unit has declined it (退办) and the office has not decided yet",
        "本单位已申请退办，待办公室审核",
    ),
)

# What must hold before each action is offered or taken, checked in this order (the first that
# fails names the refusal). `available_actions` and `models.workflow.take_action` both read this.
# What the request itself must bring is apart, since a form asks for it: a reason (`NEEDS_REASON`),
# a filing (`FILED`); take_action names a missing one before a rule in `HELD_BACK_BY_RULE`.
GUARDS: Final[dict[Action, tuple[Guard, ...]]] = {
    Action.SIGN: (NOT_ARCHIVED, NOT_WITHDRAWN, IN_TABLE, PERMITTED_ACTOR, NO_DECLINE_PENDING),
    Action.PROGRESS: (
        NOT_ARCHIVED,
        NOT_WITHDRAWN,
        IN_TABLE,
        PERMITTED_ACTOR,
        NO_DECLINE_PENDING,
        FILING_OPEN,
    ),
    Action.REPORT: (
        NOT_ARCHIVED,
        NOT_WITHDRAWN,
        IN_TABLE,
        PERMITTED_ACTOR,
        FILING_OPEN,
        COOPERATING_HANDED_IN,
    ),
    Action.VERIFY: (NOT_ARCHIVED, NOT_WITHDRAWN, IN_TABLE, PERMITTED_ACTOR),
    Action.RETURN: (NOT_ARCHIVED, NOT_WITHDRAWN, IN_TABLE, PERMITTED_ACTOR),
    Action.CLOSE: (NOT_ARCHIVED, NOT_WITHDRAWN, IN_TABLE, PERMITTED_ACTOR),
    Action.REOPEN: (NOT_ARCHIVED, NOT_WITHDRAWN, IN_TABLE, PERMITTED_ACTOR),
}

# Rules of the office that hold back a move this user would otherwise have: the portal says which
# (`held_back`). The others say the move is not there at all (withdrawn, no such move, not theirs).
HELD_BACK_BY_RULE: Final = frozenset(
    {FILING_OPEN.name, COOPERATING_HANDED_IN.name, NO_DECLINE_PENDING.name}
)


def refusal(
    assignment: HasLifecycle, actor: Actor, action: Action, context: Context
) -> Guard | None:
    """The first guard that refuses this action now, or None when it may be taken."""
    failing = (g for g in GUARDS[action] if not g.holds(assignment, context, actor, action))
    return next(failing, None)


def available_actions(assignment: HasLifecycle, actor: Actor, context: Context) -> list[Action]:
    """The actions this actor may take on this assignment now, in table order.

    Exactly what `models.workflow.take_action` accepts, given the reason or the filing the
    action asks for (`NEEDS_REASON`, `FILED`).
    """
    state = State(assignment.state)
    return [
        action
        for (from_state, action) in TRANSITIONS
        if from_state == state and refusal(assignment, actor, action, context) is None
    ]


@dataclass(frozen=True, slots=True)
class _Moved:
    state: str
    unit_id: int
    role: str
    withdrawn_at: datetime | None


def _after(assignment: HasLifecycle, action: Action) -> HasLifecycle | None:
    target = next_state(assignment.state, action)
    if target is None or target == State(assignment.state):
        return None
    return _Moved(target.value, assignment.unit_id, assignment.role, assignment.withdrawn_at)


def filing_moves(assignment: HasLifecycle, actor: Actor, context: Context) -> list[Action]:
    """What a check-in filed now may carry: progress, the completion report, or both.

    From assigned, a completion report first counts as signing (`models.checkins.submit_checkin`
    makes both moves), so it is offered when the table and the guards allow it after that move.
    """
    moves = [a for a in available_actions(assignment, actor, context) if a in FILED]
    after = _after(assignment, Action.PROGRESS) if Action.PROGRESS in moves else None
    if after is not None:
        then = available_actions(after, actor, context)
        moves += [a for a in then if a in FILED and a not in moves]
    return moves


def held_back(assignment: HasLifecycle, actor: Actor, context: Context) -> dict[Action, Guard]:
    """Moves this user would have, now or after a filing's first move, held back by a rule."""
    candidates = [(assignment, a) for (s, a) in TRANSITIONS if s == State(assignment.state)]
    after = _after(assignment, Action.PROGRESS)
    if after is not None and refusal(assignment, actor, Action.PROGRESS, context) is None:
        later = State(after.state)
        candidates += [(after, a) for (s, a) in TRANSITIONS if s == later and a in FILED]
    held: dict[Action, Guard] = {}
    for row, action in candidates:
        guard = refusal(row, actor, action, context)
        if guard is not None and guard.name in HELD_BACK_BY_RULE and action not in held:
            held[action] = guard
    return held
