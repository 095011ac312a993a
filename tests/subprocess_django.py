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


def clean_environment(**env: str) -> dict[str, str]:
    """This process's environment without the portal's own settings (so a child process
    reads only what the test gives it), plus `env`."""
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DEEPGRAM_", "DATABASE_URL", "REDIS_URL", "CELERY_"))
    }
    clean.update(DJANGO_SETTINGS_MODULE="billing_portal.settings", PYTHONPATH=str(ROOT), **env)
    return clean


def run_django(code: str, *, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    clean = clean_environment(**env)
    return subprocess.run(
        [sys.executable, "-c", f"import django\ndjango.setup()\n{code}"],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def database_url_of(connection) -> str:
    """A DATABASE_URL for another process to reach the database this test uses (its data
    committed: a transactional test), on SQLite or PostgreSQL."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
