"""live transcripts: the final utterances of a call's live transcript, and the agent holding a call by its CallSid

The media socket finds the agent of a streamed call by `desk_agent.call_sid` (a partial index over the few agents
holding a call) and appends each final utterance to `live_transcript_segment` (read back per call, in time order).
"""

import sqlalchemy as sa
from alembic import op

from crm_store.types import UtcDateTime

revision: str = '0019_live_transcripts'
down_revision: str | None = '0013_reports'


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
    with op.batch_alter_table('desk_agent', schema=None) as batch_op:
        batch_op.create_index('ix_desk_agent_call_sid', ['call_sid'], unique=False, postgresql_where=sa.text('call_sid IS NOT NULL'), sqlite_where=sa.text('call_sid IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('desk_agent', schema=None) as batch_op:
        batch_op.drop_index('ix_desk_agent_call_sid', postgresql_where=sa.text('call_sid IS NOT NULL'), sqlite_where=sa.text('call_sid IS NOT NULL'))
    # Dropping a table drops its indexes.
    op.drop_table('live_transcript_segment')
