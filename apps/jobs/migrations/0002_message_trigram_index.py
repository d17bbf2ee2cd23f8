"""A trigram index for `message:~word` on PostgreSQL; other databases have no such index and scan instead.

Django's icontains compares UPPER(message) with LIKE UPPER('%word%'), so the index is on UPPER(message).
"""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS jobs_message_trgm ON jobs_job USING gin (UPPER(message) gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS jobs_message_trgm")


class Migration(migrations.Migration):
    dependencies = [("jobs", "0001_initial")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
