"""external_api plugin: the meet_application and meet_application_domain tables (lineage ``external_api``)

Revision ID: 0912f873a6ff
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0912f873a6ff"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("external_api",)
# No foreign key to a core table.
depends_on: str | Sequence[str] | None = None


def _audit_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    json_type = (
        sa.JSON()
        .with_variant(postgresql.JSONB(astext_type=Text()), "cockroachdb")
        .with_variant(advanced_alchemy.types.json.ORA_JSONB(), "oracle")
        .with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    )
    op.create_table(
        "meet_application",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("client_secret", sa.String(length=255), nullable=False),
        sa.Column("scopes", json_type, nullable=False),
        *_audit_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meet_application")),
        sa.UniqueConstraint("client_id", name=op.f("uq_meet_application_client_id")),
    )
    op.create_table(
        "meet_application_domain",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("application_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        *_audit_columns(),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["meet_application.id"],
            name=op.f("fk_meet_application_domain_application_id_meet_application"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meet_application_domain")),
        sa.UniqueConstraint("application_id", "domain", name=op.f("uq_meet_application_domain_application_id")),
    )


def downgrade() -> None:
    op.drop_table("meet_application_domain")
    op.drop_table("meet_application")
