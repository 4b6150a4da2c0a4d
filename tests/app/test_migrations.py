"""Alembic migrations bring an empty database to head, match the models, and go back."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from survey_app import migrate
from survey_app.models import metadata


def test_empty_database_upgrades_to_head_matching_models(databases):
    url, drop = databases.new()
    try:
        engine = create_engine(url)
        migrate.downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(url)
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), metadata
            )
        assert diff == [], f"models and migrations differ: {diff}"
        engine.dispose()
    finally:
        drop()
