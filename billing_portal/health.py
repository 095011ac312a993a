"""Reachability checks behind /healthz: the database and the Celery broker."""

from django.db import connection

from .celery import app as celery_app


def check_database() -> None:
    """Raise if the default database does not answer a trivial query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    """Raise if the Celery broker cannot be connected to within a couple of seconds."""
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


CHECKS = {"database": check_database, "broker": check_broker}
