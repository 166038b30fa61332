"""Migrations and models agree, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

import models  # noqa: F401  (registers the tables)
from models.schema import HEAD, MIGRATIONS, current_revision


def test_the_head_constant_is_the_newest_migration() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD]


def test_the_migrated_schema_is_exactly_what_the_models_declare(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_the_flows_queries_have_their_indexes(engine: Engine) -> None:
    indexed = {
        table: {tuple(ix["column_names"]) for ix in inspect(engine).get_indexes(table)}
        for table in ("assignment", "check_in", "notification", "escalation", "audit_event")
    }
    assert ("state", "due_on") in indexed["assignment"]
    assert ("unit_id", "state") in indexed["assignment"]
    assert ("round_id", "state") in indexed["check_in"]
    # (state, due_on) leads it, for the flows; the round after them serves the dashboard's count
    assert ("state", "due_on", "round_id") in indexed["check_in"]
    assert ("state", "submitted_at", "id") in indexed["check_in"]  # the verification queue
    assert ("state", "withdrawn_at", "task_id") in indexed["assignment"]  # the dashboard's
    assert ("status", "next_attempt_at") in indexed["notification"]
    assert ("resolved_at", "level") in indexed["escalation"]
    assert ("resolved_at", "assignment_id", "round_id", "level", "stall") in indexed["escalation"]
    assert ("object_type", "object_id") in indexed["audit_event"]
    assert current_revision(engine) == HEAD
