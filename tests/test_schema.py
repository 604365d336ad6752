"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from pipeline.db import migrate
from pipeline.models import Base


def test_migrations_match_models(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 's.db'}")
    migrate(engine)
    migrate(engine)  # idempotent: a restart runs it again
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert "alembic_version" in inspect(engine).get_table_names()
