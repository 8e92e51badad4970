"""The digest of a source's last fully handled listing (issue 20: a pass where nothing changed).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

``source_state.listing_digest``: a hash of the source's configuration and of the listing's bytes as last read,
set only when every item that listing named was stored or known. The next run that reads the same bytes with the
same configuration has nothing to do (recorded ``not_modified``) and skips parsing: many servers send no ETag or
Last-Modified yet serve the same bytes until something changes. NULL: parse the next listing whatever it is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source_state", sa.Column("listing_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    """Not used by the application (it only upgrades)."""
    op.drop_column("source_state", "listing_digest")
