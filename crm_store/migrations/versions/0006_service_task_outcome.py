"""service tasks and claim updates: a duty's key names its policy (two renewal reminders of policies ending the same
day are both kept), a done duty keeps its outcome and who marked it done, a claim keeps its closing date

The unique key (customer_id, kind, due_on) becomes two partial unique indexes: (customer_id, kind, due_on) where
policy_id is NULL (visits, interviews) and (customer_id, kind, due_on, policy_id) where it is not (renewal
reminders). A plain key over policy_id would let two visits of one customer on one day in, since NULL never equals
NULL there.

Written by hand: batch mode, so that SQLite rebuilds service_task to drop the named unique constraint.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'


def upgrade() -> None:
    with op.batch_alter_table('service_task', schema=None) as batch_op:
        batch_op.drop_constraint('uq_service_task_customer_kind_due', type_='unique')
        batch_op.add_column(sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch_op.add_column(sa.Column('done_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_service_task_done_by_id_staff', 'staff', ['done_by_id'], ['id'])
    op.create_index(
        'ux_service_task_duty',
        'service_task',
        ['customer_id', 'kind', 'due_on'],
        unique=True,
        postgresql_where=sa.text('policy_id IS NULL'),
        sqlite_where=sa.text('policy_id IS NULL'),
    )
    op.create_index(
        'ux_service_task_policy_duty',
        'service_task',
        ['customer_id', 'kind', 'due_on', 'policy_id'],
        unique=True,
        postgresql_where=sa.text('policy_id IS NOT NULL'),
        sqlite_where=sa.text('policy_id IS NOT NULL'),
    )

    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_column('closed_on')

    op.drop_index('ux_service_task_policy_duty', table_name='service_task')
    op.drop_index('ux_service_task_duty', table_name='service_task')
    # The old key cannot hold two reminders of one day: keep the first of each.
    op.execute(
        'DELETE FROM service_task WHERE id NOT IN '
        '(SELECT min(id) FROM service_task GROUP BY customer_id, kind, due_on)'
    )
    with op.batch_alter_table('service_task', schema=None) as batch_op:
        batch_op.drop_constraint('fk_service_task_done_by_id_staff', type_='foreignkey')
        batch_op.drop_column('done_by_id')
        batch_op.drop_column('outcome')
        batch_op.create_unique_constraint('uq_service_task_customer_kind_due', ['customer_id', 'kind', 'due_on'])
