"""example plugin: the example_note table (a second migration lineage)

Revision ID: a1b2c3d4e5f6
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "a1b2c3d4e5f6"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("example",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "example_note",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_example_note")),
    )


def downgrade() -> None:
    op.drop_table("example_note")
