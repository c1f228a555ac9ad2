"""Alembic environment: runs on the connection that services/db.py hands it."""
from alembic import context
from sqlmodel import SQLModel

import models  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata
connection = context.config.attributes.get('connection')
if connection is None:  # command-line use: `alembic -x url=... revision --autogenerate`
    from sqlalchemy import create_engine
    engine = create_engine(context.get_x_argument(as_dictionary=True)['url'])
    connection = engine.connect()

context.configure(connection=connection, target_metadata=target_metadata,
                  render_as_batch=connection.dialect.name == 'sqlite')
with context.begin_transaction():
    context.run_migrations()
