import logging

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import CHECKS

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    """200 with every check "ok", or 503 naming what is down (never the error's details)."""
    report = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:
            logger.exception("health check %s failed", name)
            report[name] = "down"
        else:
            report[name] = "ok"
    healthy = all(value == "ok" for value in report.values())
    return JsonResponse(report, status=200 if healthy else 503)
