"""Story bands by age: the index the pruning of bands past the story window reads.

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_story_bands_created_at", "story_bands", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_story_bands_created_at", table_name="story_bands")
