"""Alembic environment for the serving database (run through shouhu.storage.serving)."""

from alembic import context

from shouhu.storage.serving import engine_for, metadata

config = context.config
engine = engine_for(config.get_main_option("sqlalchemy.url") or "")
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
