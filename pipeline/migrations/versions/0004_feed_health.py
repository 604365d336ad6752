"""Feed health: moved/gone state, last new item, open operator alert; operator alerts
have no incident.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TEXT = ("moved_url", "moved_from", "gone_url")
_TIMES = ("gone_at", "last_new_at", "alert_since")


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        for name in _TEXT:
            batch.add_column(sa.Column(name, sa.Text(), nullable=True))
        for name in _TIMES:
            batch.add_column(sa.Column(name, sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("alert_state", sa.String(20), nullable=True))
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("feeds") as batch:
        for name in ("alert_state", *_TIMES, *_TEXT):
            batch.drop_column(name)
