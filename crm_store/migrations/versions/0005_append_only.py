"""append-only: the audit trail and the call events refuse UPDATE and DELETE in the database itself

The application only ever inserts into audit_entry and call_event; these triggers make that a property of the
store, so that neither a bug nor a hand-run statement can rewrite who read what, or what Twilio told us.
(Dropping a whole database, as the tests do, is not affected.)
"""

from alembic import op

from crm_store.migrations.helpers import allow_update_and_delete, refuse_update_and_delete

revision: str = "0005"
down_revision: str | None = "0004"

TABLES = ("audit_entry", "call_event")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION hotline_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$
            """
        )
    for table in TABLES:
        refuse_update_and_delete(table)


def downgrade() -> None:
    for table in TABLES:
        allow_update_and_delete(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION hotline_append_only()")
