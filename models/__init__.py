"""The domain: tables, the assignment lifecycle, the audit chain and the use cases.

Importing this package registers every table on `SQLModel.metadata`
(Alembic's autogenerate and the tests rely on that).

    lifecycle.py   the (state, action) -> state table; who may act
    workflow.py    use cases that move an assignment: sign, verify, return ...
    archive.py     archiving a finished plan, the plan list, and the one read-only check
    audit.py       the hash-chained audit trail and its verification
    status.py      counts for `duban status`
    db.py          engines and units of work (SQLite WAL + immediate writes, PostgreSQL)
    schema.py      creating and upgrading the database (Alembic)
    unit.py        the unit directory's tables, and `find_unit` (by name or alias)
    plan.py assignment.py round.py escalation.py notification.py user.py results.py
                   the tables
"""

import models.lengths  # noqa: F401  (registers the length check on every table)
from models.assignment import Assignment, AssignmentRole
from models.audit import AuditEvent, AuditHead
from models.declines import Decline, DeclineState
from models.directives import Directive, DirectiveUnit
from models.escalation import Escalation, EscalationNumber, ExtensionRequest, ExtensionState, Level
from models.escalation_desk import EscalationNote
from models.filings import CheckInVersion, FilingDraft
from models.lifecycle import Action, Actor, Role, State
from models.notification import Notification, NotificationStatus, RateSlot
from models.nudges import Nudge
from models.plan import Measure, Plan, Task
from models.results import ResultsReport
from models.round import CheckIn, CheckInState, RoundState, SupervisionRound
from models.suspensions import Suspension
from models.unit import Contact, ContactRole, GroupMember, Unit, UnitAlias, UnitKind
from models.user import LoginThrottle, User, WebSession

__all__ = [
    "Action",
    "Actor",
    "Assignment",
    "AssignmentRole",
    "AuditEvent",
    "AuditHead",
    "CheckIn",
    "CheckInState",
    "CheckInVersion",
    "Contact",
    "ContactRole",
    "Decline",
    "DeclineState",
    "Directive",
    "DirectiveUnit",
    "Escalation",
    "EscalationNote",
    "EscalationNumber",
    "ExtensionRequest",
    "ExtensionState",
    "FilingDraft",
    "GroupMember",
    "Level",
    "LoginThrottle",
    "Measure",
    "Notification",
    "NotificationStatus",
    "Nudge",
    "Plan",
    "RateSlot",
    "ResultsReport",
    "Role",
    "RoundState",
    "State",
    "SupervisionRound",
    "Suspension",
    "Task",
    "Unit",
    "UnitAlias",
    "UnitKind",
    "User",
    "WebSession",
]
