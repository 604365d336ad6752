"""Stories with their LSH bands, incident state for updates and escalations, silences.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_stories_incident_id", "stories", ["incident_id"])
    op.create_index("ix_stories_created_at", "stories", ["created_at"])
    op.create_table(
        "story_bands",
        sa.Column("band", sa.BigInteger(), primary_key=True),
        sa.Column("story_id", sa.Integer(), sa.ForeignKey("stories.id"), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "silences",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("categories", sa.JSON(), nullable=True),
        sa.Column("countries", sa.JSON(), nullable=True),
        sa.Column("places", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_silences_until", "silences", ["until"])
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("story_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("facts", sa.JSON(), nullable=True))
        batch.create_foreign_key("fk_articles_story_id", "stories", ["story_id"], ["id"])
        batch.create_index("ix_articles_story_id", ["story_id"])
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("first_event", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("last_event", sa.DateTime(), nullable=True))
        for name in ("places", "countries", "actors", "title_words", "figures"):
            batch.add_column(sa.Column(name, sa.JSON(), nullable=True))
        batch.add_column(sa.Column("alerted", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("pending_update", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_incidents_last_event", ["last_event"])


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_index("ix_incidents_last_event")
        for name in ("first_event", "last_event", "places", "countries", "actors", "title_words", "figures",
                     "alerted", "pending_update"):
            batch.drop_column(name)
    with op.batch_alter_table("articles") as batch:
        batch.drop_index("ix_articles_story_id")
        batch.drop_constraint("fk_articles_story_id", type_="foreignkey")
        batch.drop_column("facts")
        batch.drop_column("story_id")
    op.drop_table("silences")
    op.drop_table("story_bands")
    op.drop_table("stories")
