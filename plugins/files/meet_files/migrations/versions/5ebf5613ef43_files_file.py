"""files plugin: the meet_files_file table (lineage ``files``)

Revision ID: 5ebf5613ef43
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "5ebf5613ef43"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("files",)
# meet_user comes from the core's first revision.
depends_on: str | Sequence[str] | None = "4afac13f9204"


def upgrade() -> None:
    op.create_table(
        "meet_files_file",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("creator_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("deleted_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("hard_deleted_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("upload_state", sa.String(length=20), nullable=False),
        sa.Column("mimetype", sa.String(length=255), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["meet_user.id"],
            name=op.f("fk_meet_files_file_creator_id_meet_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meet_files_file")),
    )
    op.create_index(
        "ix_meet_files_file_creator_type_created", "meet_files_file", ["creator_id", "type", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_meet_files_file_creator_type_created", table_name="meet_files_file")
    op.drop_table("meet_files_file")
