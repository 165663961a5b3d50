"""fake_backends.cli: generated commands on PATH forward to a fake CLI service, faults and ledger included."""

from __future__ import annotations

import os
import subprocess
from typing import Dict, Iterator, List

import pytest

from fake_backends import JobNotFound
from fake_backends.cli import CliApi, Completed, FakeCli


class EchoCli(CliApi):
    """Two commands: one submits and reads its stdin, one reads a job's state."""

    name = "echo-cli"
    commands = {"echo-submit": "submit", "echo-status": "status"}
    reads_stdin = frozenset({"echo-submit"})

    def run(self, command: str, argv: List[str], stdin: str) -> Completed:
        if command == "echo-submit":
            job = self.service.submit({"argv": argv, "stdin": stdin}, {})
            return Completed(stdout=f"{job.job_id}\n", stderr="submitted\n")
        if not argv:
            raise JobNotFound("no job id given")
        return Completed(stdout=self.service.status(argv[0]).state + "\n")

    def error(self, status: int, message: str):
        return self.answer(Completed(stderr=f"echo: {message}\n", code=3 if status == 404 else 1), status)


@pytest.fixture
def cli() -> Iterator[FakeCli]:
    with FakeCli(EchoCli) as fake:
        yield fake


def run(cli: FakeCli, *argv: str, stdin: str = "", **environment: str) -> subprocess.CompletedProcess:
    """A command found on the fake's PATH, as a connector's subprocess finds it."""
    env: Dict[str, str] = dict(os.environ, **cli.environment(), **environment)
    return subprocess.run(list(argv), input=stdin, env=env, capture_output=True, text=True, timeout=30)


def test_a_command_prints_the_answer_and_exits_with_its_status(cli: FakeCli) -> None:
    done = run(cli, "echo-submit", "--name", "a b", stdin="#!/bin/sh\necho hi\n")
    assert (done.returncode, done.stdout, done.stderr) == (0, "job-1\n", "submitted\n")
    (job,) = cli.jobs()
    assert job.spec == {"argv": ["--name", "a b"], "stdin": "#!/bin/sh\necho hi\n"}
    assert run(cli, "echo-status", "job-1").stdout == f"{cli.states.pending}\n"
    assert cli.counters()["submit"] == 1 and cli.counters()["status"] == 1


def test_only_declared_commands_read_their_standard_input(cli: FakeCli) -> None:
    # echo-status never reads stdin: a caller's open pipe (an xdist worker's channel) is left alone.
    with subprocess.Popen(["echo-status", "job-9"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          env=dict(os.environ, **cli.environment())) as process:
        assert process.wait(timeout=30) == 3  # answered without the pipe ever being closed


def test_the_service_errors_are_the_tools_errors(cli: FakeCli) -> None:
    done = run(cli, "echo-status", "job-404")
    assert (done.returncode, done.stdout, done.stderr) == (3, "", "echo: job job-404 not found\n")


def test_scripts_and_faults_apply_to_commands(cli: FakeCli) -> None:
    cli.script([cli.states.failed], message="boom")
    job_id = run(cli, "echo-submit").stdout.strip()
    cli.fault("status", status=503)
    failed = run(cli, "echo-status", job_id)
    assert failed.returncode == 1 and "injected fault on status" in failed.stderr
    assert run(cli, "echo-status", job_id).stdout == f"{cli.states.failed}\n"


def test_a_lost_answer_fails_the_command_after_it_took_effect(cli: FakeCli) -> None:
    cli.fault("submit", kind="lost")
    done = run(cli, "echo-submit")
    assert done.returncode == 1 and "echo-submit: error: lost the service's answer" in done.stderr
    assert len(cli.jobs()) == 1


def test_proxy_variables_do_not_divert_the_commands(cli: FakeCli) -> None:
    done = run(cli, "echo-submit", http_proxy="http://192.0.2.1:9", HTTP_PROXY="http://192.0.2.1:9")
    assert done.returncode == 0, done.stderr


def test_the_commands_exist_only_while_the_fake_runs() -> None:
    with FakeCli(EchoCli) as fake:
        directory = fake.bin
        assert directory is not None
        assert fake.environment()["PATH"].split(os.pathsep)[0] == str(directory)
        assert sorted(os.listdir(directory)) == ["echo-status", "echo-submit", "forward.py"]
    assert not directory.exists()
    with pytest.raises(RuntimeError, match="not started"):
        fake.environment()


def test_an_unknown_command_is_not_found(cli: FakeCli) -> None:
    from fake_backends.cli import install_commands

    assert cli.bin is not None
    install_commands(cli.address, cli.bin, ["echo-missing"])
    done = run(cli, "echo-missing")
    assert (done.returncode, done.stderr) == (127, "echo-missing: command not found\n")
