"""webhook text: the call's numbers, direction and recording URL as long as Twilio sends them

`From`/`To` may be SIP URIs or client names, `Direction` takes values Twilio adds without notice
(`trunking-originating`), and a recording URL has no documented length: these columns were cut at 32, 16 and 500
characters, and a webhook that did not fit was acknowledged but lost. They become unbounded text.

SQLite does not enforce VARCHAR lengths, so only PostgreSQL's columns change (and SQLite's call table, with its
triggers and indexes, is not rebuilt for nothing).
"""

import sqlalchemy as sa
from alembic import op

revision: str = '0008_webhook_text'
down_revision: str | None = '0007_outbox_recoveries'

# Column and its former length.
WIDENED = (('from_number', 32), ('to_number', 32), ('direction', 16), ('recording_url', 500))


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name, length in WIDENED:
        op.alter_column('call', name, type_=sa.String(), existing_type=sa.String(length), existing_nullable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name, length in WIDENED:
        # What no longer fits is cut, as it would have been before.
        op.alter_column(
            'call',
            name,
            type_=sa.String(length),
            existing_type=sa.String(),
            existing_nullable=True,
            postgresql_using=f'left({name}, {length})',
        )
