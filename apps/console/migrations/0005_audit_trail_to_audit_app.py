# The audit trail now belongs to apps/audit (see its first migration). The table is left in place.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0004_agent_run_and_event_audit_actions"),
        ("audit", "0001_audit_trail_from_console"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
