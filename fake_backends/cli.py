"""Fakes of command-line tools, for connectors that shell out (``sbatch``/``squeue``/``scancel``, a vendor CLI).

Such a connector talks to its service through executables found on ``PATH``. :class:`FakeCli` writes
one small executable per command into a fresh directory; each forwards its arguments (and, for the
commands that read it, its standard input) over HTTP to a :class:`CliApi` served on 127.0.0.1, then
prints the answer's standard output and error and exits with its status. The :class:`CliApi` turns
each command into calls of the toolkit's job service, so scripts, faults (a lost answer is a command
that fails after doing its work), latency, purges and the ledger apply unchanged. A binding's
environment puts the directory first on ``PATH`` (:meth:`FakeCli.environment`).

The executables are POSIX shell scripts running this Python with ``-I -S`` on a forwarder that
imports only ``json`` and ``socket`` (each command costs one small interpreter start) and speaks
plain HTTP to 127.0.0.1, whatever proxy variables the caller has.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from aiohttp import web

from .toolkit import FakeServer, ServiceApi, json_body

__all__ = ["CliApi", "Completed", "FakeCli", "install_commands"]

FORWARDER = "forward.py"
"""The stdlib-only script every generated command runs, written next to the commands."""

_FORWARD_SOURCE = '''\
"""Forward one command line to a fake CLI service; print its answer and exit with its status.

Plain HTTP/1.0 over a socket: json and socket are all it imports, so a command starts fast.
"""
import json
import socket
import sys


def answer(address, command, argv, stdin):
    host, port = address.rsplit(":", 1)
    body = json.dumps({"argv": argv, "stdin": stdin}).encode()
    head = "POST /commands/%s HTTP/1.0\\r\\nHost: %s\\r\\nContent-Type: application/json\\r\\n" \\
           "Content-Length: %d\\r\\n\\r\\n" % (command, address, len(body))
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(head.encode() + body)
        received = b"".join(iter(lambda: connection.recv(65536), b""))
    return json.loads(received.partition(b"\\r\\n\\r\\n")[2])


def main():
    address, command, reads_stdin, argv = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4:]
    stdin = sys.stdin.read() if reads_stdin else ""
    try:
        reply = answer(address, command, argv, stdin)
    except (OSError, ValueError) as error:  # a dropped or garbled answer: the command fails
        reply = {"stdout": "", "stderr": command + ": error: lost the service's answer: " + repr(error) + "\\n",
                 "code": 1}
    sys.stdout.write(reply["stdout"])
    sys.stderr.write(reply["stderr"])
    sys.exit(reply["code"])


main()
'''


@dataclass(frozen=True)
class Completed:
    """What one command run printed, and its exit status."""

    stdout: str = ""
    stderr: str = ""
    code: int = 0


class CliApi(ServiceApi):
    """A command-line tool's commands over the toolkit's job service; subclass it for each fake CLI.

    ``commands`` maps each executable's name to the operation it performs (for latency); :meth:`run`
    carries it out by calling ``self.service`` and returns what the tool prints. A
    :class:`~fake_backends.JobServiceError` that escapes (unknown job, a fault) is answered by
    :meth:`error`: override it with the real tool's message and exit status.
    """

    commands: ClassVar[Mapping[str, str]] = {}
    """Executable name -> the operation it performs (one of :data:`fake_backends.OPERATIONS`)."""
    reads_stdin: ClassVar[frozenset[str]] = frozenset()
    """Commands whose standard input is forwarded; the others never read it (it may be the caller's)."""

    def routes(self) -> Iterable[web.RouteDef]:
        return [web.post("/commands/{command}", self.invoke, name="command")]

    def operation(self, request: web.Request) -> str | None:
        return self.commands.get(request.match_info.get("command", ""))

    async def invoke(self, request: web.Request) -> web.Response:
        """One command line, forwarded by a generated executable."""
        command = request.match_info["command"]
        body = await json_body(request)
        if command not in self.commands:
            return self.answer(Completed(stderr=f"{command}: command not found\n", code=127))
        return self.answer(self.run(command, [str(arg) for arg in body.get("argv", [])], str(body.get("stdin", ""))))

    def run(self, command: str, argv: list[str], stdin: str) -> Completed:
        """Carry out ``command argv`` (with ``stdin``) on ``self.service``; what the tool prints and exits with."""
        raise NotImplementedError

    def error(self, status: int, message: str) -> web.Response:
        """A failed command: an error line and exit status 1; override with the real tool's."""
        return self.answer(Completed(stderr=f"error: {message}\n", code=1), status)

    @staticmethod
    def answer(completed: Completed, status: int = 200) -> web.Response:
        """The HTTP answer a generated executable turns back into output and an exit status."""
        return web.json_response(dataclasses.asdict(completed), status=status)


def install_commands(address: str, directory: Path, commands: Iterable[str], reads_stdin: Iterable[str] = ()) -> None:
    """Write an executable per command into ``directory`` forwarding to the fake CLI at ``address`` (host:port)."""
    directory.mkdir(parents=True, exist_ok=True)
    forwarder = directory / FORWARDER
    forwarder.write_text(_FORWARD_SOURCE)
    stdin_commands = set(reads_stdin)
    for command in commands:
        reads = "1" if command in stdin_commands else "0"
        words = [sys.executable, "-I", "-S", str(forwarder), address, command, reads]
        script = directory / command
        script.write_text(f"#!/bin/sh\nexec {' '.join(shlex.quote(word) for word in words)} \"$@\"\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


_Self = TypeVar("_Self", bound="FakeCli")


class FakeCli(FakeServer):
    """A :class:`CliApi` served on 127.0.0.1 with its commands on disk; the :class:`BackendControl` too.

    ``bin`` is the directory of generated commands while the fake runs; :meth:`environment` puts it
    first on ``PATH``, which is what a binding (or a conftest's ``monkeypatch``) applies.
    """

    api: CliApi

    def __init__(self, api: type[CliApi], **service_options: Any) -> None:
        super().__init__(api, tls=False, **service_options)  # the commands speak plain HTTP to 127.0.0.1
        self.bin: Path | None = None

    def start(self: _Self) -> _Self:
        super().start()
        try:
            self.bin = Path(tempfile.mkdtemp(prefix=f"fake-{self.api.name}-bin-"))
            install_commands(self.address, self.bin, self.api.commands, self.api.reads_stdin)
        except BaseException:
            self.stop()  # no server left running behind a failed start
            raise
        return self

    def stop(self) -> None:
        super().stop()
        if self.bin is not None:
            shutil.rmtree(self.bin, ignore_errors=True)
            self.bin = None

    def environment(self) -> dict[str, str]:
        """``PATH`` with the generated commands first, so the connector finds them before any real tool."""
        if self.bin is None:
            raise RuntimeError("fake CLI not started")
        return {"PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', os.defpath)}"}
