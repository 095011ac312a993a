"""`manage.py deepgram_sandbox`: serve the Deepgram stand-in for `make run` and demos.

Bad input exits 2 before anything listens: `--port` a whole number 0-65535 (0: any free
port), `--latency-ms` a finite number >= 0, `--fault-rate` a number in 0..1, `--host` a
name or address this machine can listen on, `--state` a file (not a directory) whose folder
exists or can be made. A port already taken is not bad input: it exits 1.
"""

import errno
import math
import os
import socket
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing_portal.deepgram.sandbox import SandboxServer


def bad_input(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _number(option: str, value: float | str) -> float:
    # Parsed here, not by argparse, so that call_command also answers bad input with 2.
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise bad_input(f"{option} must be a number, not {value!r}.")
    return number


def _port(value: int | str) -> int:
    text = str(value).strip()
    if not (text.isascii() and text.isdecimal()) or int(text) > 65535:
        raise bad_input(f"--port must be a whole number from 0 to 65535, not {value!r}.")
    return int(text)


def _state(value: str | None) -> str | None:
    if value is None:
        return None
    path = Path(value)
    if not value.strip() or path.is_dir():
        raise bad_input(f"--state must name a file, not {value!r}.")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise bad_input(f"--state {value!r} cannot be read and written.")
    folder = next((p for p in path.absolute().parents if p.exists()), None)
    if folder is None or not folder.is_dir() or not os.access(folder, os.W_OK):
        raise bad_input(f"--state {value!r}: its folder cannot be made or written.")
    return value


def _host(value: str) -> str:
    try:
        socket.getaddrinfo(value, None)
    except (socket.gaierror, UnicodeError):
        raise bad_input(f"--host {value!r} is no name or address of this machine.") from None
    return value


class Command(BaseCommand):
    help = (
        "Serve a stand-in for Deepgram's management API with synthetic usage, "
        "using SANDBOX_API_KEY and SANDBOX_PROJECT_ID. Stop with Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default=8787, help="0: any free port")
        parser.add_argument("--latency-ms", default=0, help="delay every API call")
        parser.add_argument(
            "--fault-rate", default=0.0, help="share of calls (0..1) given a 429/5xx"
        )
        parser.add_argument("--state", default=None, help="JSON file keeping keys across runs")

    def handle(self, *args, host, port, latency_ms, fault_rate, state, **options):
        """Refuse bad input (exit 2) before listening; never print the token."""
        fault_rate = _number("--fault-rate", fault_rate)
        if not 0 <= fault_rate <= 1:
            raise bad_input("--fault-rate must be between 0 and 1.")
        latency_ms = _number("--latency-ms", latency_ms)
        if latency_ms < 0:
            raise bad_input("--latency-ms must not be negative.")
        server = self._server(_host(host), _port(port), latency_ms, fault_rate, _state(state))
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
        except ValueError as error:  # an unreadable state file
            raise bad_input(str(error)) from None
        except OSError as error:
            message = f"Cannot listen on {host}:{port}: {error.strerror}"
            # An address this machine does not have is bad input; a port in use is not.
            not_ours = error.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)
            raise CommandError(message, returncode=2 if not_ours else 1) from None
