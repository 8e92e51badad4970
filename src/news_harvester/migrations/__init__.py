"""Alembic migration scripts, shipped inside the package so an installed daemon can upgrade."""
