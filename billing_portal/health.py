"""/healthz: reachability checks (the database and the Celery broker) that decide the HTTP
status, and reports (the usage sync's age and stale keys) that only inform.

A load balancer takes a web server out on a 503: that is for what this server cannot work
without. A stale or failed sync is the operators' business (they are told, see
`usage.services.alerts`), not a reason to stop serving the admin and the portal; so a report
never changes the status, and one that cannot be read says `{"status": "unknown"}`.
"""

import logging

from django.db import connection
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from .celery import app as celery_app

logger = logging.getLogger(__name__)


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


@method_decorator(never_cache, name="dispatch")
class Healthz(View):
    """200 with every check "ok", or 503 naming what is down (never the error's details);
    beside them each report, as its callable returns it (the URL conf wires the apps' ones)."""

    http_method_names = ["get"]
    reports: dict = {}

    def get(self, request):
        body = {}
        for name, check in CHECKS.items():
            try:
                check()
            except Exception:
                logger.exception("health check %s failed", name)
                body[name] = "down"
            else:
                body[name] = "ok"
        healthy = all(value == "ok" for value in body.values())
        for name, report in self.reports.items():
            try:
                body[name] = report()
            except Exception:
                logger.exception("health report %s could not be read", name)
                body[name] = {"status": "unknown"}
        return JsonResponse(body, status=200 if healthy else 503)
