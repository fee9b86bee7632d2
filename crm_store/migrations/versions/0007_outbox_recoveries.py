"""outbox recoveries: how many times the stuck-work duty enqueued a promised job again

A call that stopped moving (Redis lost the job, rq gave up on it) has its next step enqueued again by the workers;
after a few such attempts the call is failed with the reason. The count lives with the promise, in the database,
since the queue is what may have forgotten.
"""

import sqlalchemy as sa
from alembic import op

revision: str = '0007_outbox_recoveries'
down_revision: str | None = '0006'


def upgrade() -> None:
    with op.batch_alter_table('outbox_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recoveries', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('outbox_job', schema=None) as batch_op:
        batch_op.drop_column('recoveries')
