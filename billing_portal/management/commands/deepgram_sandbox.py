"""`manage.py deepgram_sandbox`: serve the Deepgram stand-in for `make run` and demos."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing_portal.deepgram.sandbox import SandboxServer


class Command(BaseCommand):
    help = (
        "Serve a stand-in for Deepgram's management API with synthetic usage, "
        "using SANDBOX_API_KEY and SANDBOX_PROJECT_ID. Stop with Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8787)
        parser.add_argument("--latency-ms", type=float, default=0, help="delay every API call")
        parser.add_argument(
            "--fault-rate", type=float, default=0.0, help="share of calls (0..1) given a 429/5xx"
        )
        parser.add_argument("--state", default=None, help="JSON file keeping keys across runs")

    def handle(self, *args, host, port, latency_ms, fault_rate, state, **options):
        """Refuse a fault rate outside 0..1 or a negative latency; never print the token."""
        if not 0 <= fault_rate <= 1:
            raise CommandError("--fault-rate must be between 0 and 1.")
        if latency_ms < 0:
            raise CommandError("--latency-ms must not be negative.")
        server = self._server(host, port, latency_ms, fault_rate, state)
        self.stdout.write(
            f"Deepgram sandbox listening on {server.url} (project {settings.SANDBOX_PROJECT_ID})"
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()

    def _server(self, host, port, latency_ms, fault_rate, state) -> SandboxServer:
        try:
            return SandboxServer(
                host=host,
                port=port,
                token=settings.SANDBOX_API_KEY,
                project_id=settings.SANDBOX_PROJECT_ID,
                state_file=state,
                latency_ms=latency_ms,
                fault_rate=fault_rate,
            )
        except OSError as error:
            raise CommandError(f"Cannot listen on {host}:{port}: {error.strerror}") from None
        except ValueError as error:
            raise CommandError(str(error)) from None
