"""Run a snippet in a fresh Python process with Django set up from a clean environment.

For behaviour fixed at start-up (settings, unreachable services), which a running test
process cannot change.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "DJANGO_SECRET_KEY": "x" * 50,
    "DJANGO_ALLOWED_HOSTS": "testserver,billing.example",
    "DEEPGRAM_USE_SANDBOX": "1",
}


def run_django(code: str, *, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DEEPGRAM_", "DATABASE_URL", "REDIS_URL", "CELERY_"))
    }
    clean.update(DJANGO_SETTINGS_MODULE="billing_portal.settings", PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-c", f"import django\ndjango.setup()\n{code}"],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
