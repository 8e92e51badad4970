"""Persistence: the only importers of sqlalchemy and alembic, and the only place SQL appears."""
