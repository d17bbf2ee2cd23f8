# The audit trail moves from the console app to its own app below the domain apps. The table stays as it is
# (console_auditevent, with its rows and index): only Django's idea of which app owns the model changes.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

import apps.core.timefmt

ACTIONS = [
    ("job.delete", "Deleted a job"),
    ("jobs.bulk_delete", "Deleted jobs in bulk"),
    ("job.retry", "Retried a job"),
    ("job.cancel", "Cancelled an agent run"),
    ("agent.run", "Ran an agent from the console"),
    ("agents.export", "Exported agents"),
    ("agents.import", "Imported agents"),
    ("resource.save", "Saved an agent, tool, MCP server or token"),
    ("resource.delete", "Deleted an agent, tool, MCP server or token"),
    ("client.create", "Created an API client"),
    ("client.revoke", "Revoked an API client"),
    ("member.create", "Created a local user as a member"),
    ("member.add", "Added a member"),
    ("member.role", "Changed a member's role"),
    ("member.password_reset", "Reset a member's password"),
    ("member.remove", "Removed a member"),
    ("event_secret.reveal", "Showed the commerce event secret"),
    ("event_secret.rotate", "Rotated the commerce event secret"),
]


def content_type_to_audit(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Permissions and admin log entries point at the content type: keep its row and give it the new app, so that
    # no second content type appears for the same table.
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label="audit", model="auditevent").exists():
        content_type.objects.filter(app_label="console", model="auditevent").update(app_label="audit")


def content_type_to_console(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label="console", model="auditevent").exists():
        content_type.objects.filter(app_label="audit", model="auditevent").update(app_label="console")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("console", "0004_agent_run_and_event_audit_actions"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tenants", "0003_console_users"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        ("at", models.DateTimeField(default=apps.core.timefmt.now_ms)),
                        ("username", models.CharField(max_length=150)),
                        ("api_client_id", models.CharField(blank=True, default="", max_length=255)),
                        ("subject", models.CharField(blank=True, default="", max_length=255)),
                        ("action", models.CharField(choices=ACTIONS, max_length=32)),
                        ("object_id", models.CharField(blank=True, max_length=255)),
                        ("detail", models.JSONField(blank=True, default=dict)),
                        (
                            "tenant",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="audit_events",
                                to="tenants.tenant",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "console_auditevent",
                        "indexes": [models.Index(fields=["tenant", "-at"], name="console_audit_tenant_at")],
                    },
                ),
            ],
            database_operations=[migrations.RunPython(content_type_to_audit, content_type_to_console)],
        ),
    ]
