from __future__ import annotations

from django.db import connection, models, transaction


class Counter(models.Model):
    """Named counters for human-friendly numbers (ticket #1042), safe under concurrent writers."""

    name = models.CharField(max_length=50, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"

    @classmethod
    def next_value(cls, name: str, *, start: int = 1) -> int:
        # One statement that increments and reads (SQLite 3.35+ and PostgreSQL have RETURNING):
        # the UPDATE takes the row's write lock (on SQLite: the database's), so two writers can
        # never read the same value.
        table = connection.ops.quote_name(cls._meta.db_table)
        increment = f"UPDATE {table} SET value = value + 1 WHERE name = %s RETURNING value"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(increment, [name])
            row = cursor.fetchone()
        if row is not None:
            return int(row[0])
        with transaction.atomic():  # the counter's first use
            cls.objects.get_or_create(name=name, defaults={"value": start - 1})
            cls.objects.filter(name=name).update(value=models.F("value") + 1)
            return int(cls.objects.values_list("value", flat=True).get(name=name))


class PeriodicJob(models.Model):
    """When each periodic job next runs. Workers claim a run with one conditional UPDATE, so with
    several workers each run is enqueued exactly once."""

    name = models.CharField(max_length=200, primary_key=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_worker = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.name} next at {self.next_run_at.isoformat()}"
