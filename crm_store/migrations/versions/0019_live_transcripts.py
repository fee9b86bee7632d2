"""live transcripts: the final utterances of a call's live transcript

The media socket finds the agent of a streamed call by `desk_agent.call_sid` (through `ix_desk_agent_call` of
0015_call_work) and appends each final utterance to `live_transcript_segment` (read back per call, in time order).
"""

import sqlalchemy as sa
from alembic import op

from crm_store.types import UtcDateTime

revision: str = '0019_live_transcripts'
down_revision: str | None = '0018_report_store'


def upgrade() -> None:
    op.create_table('live_transcript_segment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_sid', sa.String(length=34), nullable=False),
    sa.Column('speaker', sa.String(length=16), nullable=False),
    sa.Column('start', sa.Float(), nullable=False),
    sa.Column('end', sa.Float(), nullable=False),
    sa.Column('text', sa.String(), nullable=False),
    sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('live_transcript_segment', schema=None) as batch_op:
        batch_op.create_index('ix_live_transcript_segment_call', ['call_sid', 'start'], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes.
    op.drop_table('live_transcript_segment')
