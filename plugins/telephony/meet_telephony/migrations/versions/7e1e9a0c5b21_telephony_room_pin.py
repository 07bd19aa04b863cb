"""telephony plugin: the meet_telephony_room_pin table (lineage ``telephony``)

Revision ID: 7e1e9a0c5b21
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "7e1e9a0c5b21"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("telephony",)
# meet_room comes from the core's first revision.
depends_on: str | Sequence[str] | None = "4afac13f9204"


def upgrade() -> None:
    op.create_table(
        "meet_telephony_room_pin",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("room_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("pin", sa.String(length=32), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["meet_room.id"],
            name=op.f("fk_meet_telephony_room_pin_room_id_meet_room"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meet_telephony_room_pin")),
        sa.UniqueConstraint("pin", name=op.f("uq_meet_telephony_room_pin_pin")),
        sa.UniqueConstraint("room_id", name=op.f("uq_meet_telephony_room_pin_room_id")),
    )


def downgrade() -> None:
    op.drop_table("meet_telephony_room_pin")
