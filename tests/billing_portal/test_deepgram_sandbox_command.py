"""`manage.py deepgram_sandbox` refuses bad input with exit 2 before it listens; a port in
use is a failure (1), not bad input."""

import socket

import pytest
from django.core.management import CommandError, call_command

BAD_INPUT = [
    (["--port", "65536"], "--port must be a whole number from 0 to 65535"),
    (["--port", "-1"], "--port must be a whole number from 0 to 65535"),
    (["--port", "http"], "--port must be a whole number from 0 to 65535"),
    (["--latency-ms", "-1"], "--latency-ms must not be negative"),
    (["--latency-ms", "nan"], "--latency-ms must be a number"),
    (["--latency-ms", "inf"], "--latency-ms must be a number"),
    (["--latency-ms", "slow"], "--latency-ms must be a number"),
    (["--fault-rate", "1.5"], "--fault-rate must be between 0 and 1"),
    (["--fault-rate", "-0.1"], "--fault-rate must be between 0 and 1"),
    (["--fault-rate", "nan"], "--fault-rate must be a number"),
    (["--host", "no-such-host.invalid"], "--host 'no-such-host.invalid' is no name or address"),
    (["--host", ""], "is no name or address"),
    (["--host", "192.0.2.10", "--port", "0"], "Cannot listen on 192.0.2.10:0"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_it_refuses_bad_input_with_exit_2(args, message):
    with pytest.raises(CommandError, match=message) as caught:
        call_command("deepgram_sandbox", *args)

    assert caught.value.returncode == 2


def test_it_refuses_a_directory_as_the_state_file(tmp_path):
    with pytest.raises(CommandError, match="--state must name a file") as caught:
        call_command("deepgram_sandbox", "--port", "0", "--state", str(tmp_path))

    assert caught.value.returncode == 2


def test_it_refuses_a_state_file_under_a_file(tmp_path):
    (tmp_path / "plain").write_text("")

    with pytest.raises(CommandError, match="its folder cannot be made") as caught:
        call_command("deepgram_sandbox", "--state", str(tmp_path / "plain" / "state.json"))

    assert caught.value.returncode == 2


def test_it_refuses_an_unreadable_state_file_with_exit_2(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("{broken")

    with pytest.raises(CommandError, match="unreadable") as caught:
        call_command("deepgram_sandbox", "--port", "0", "--state", str(path))

    assert caught.value.returncode == 2


def test_it_reports_a_port_in_use_with_exit_1():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(CommandError, match=f"Cannot listen on 127.0.0.1:{port}") as caught:
            call_command("deepgram_sandbox", "--port", str(port))

    assert caught.value.returncode == 1
