"""Decode resource metas in another Python process (META-FRESH-PROCESS).

Starting a child that imports flytekit costs about a second, most of the suite's run time for a fast
connector; so the child is started early (:func:`prestart`, when connectors load) and waits for
requests on stdin while the other clauses run. It never created the metas it decodes and runs with
its own hash seed, which is what the clause needs. Answers come back on a pipe of their own: the
child imports connector modules, and anything they print at import (a banner, a log line on stdout)
would corrupt a protocol spoken on stdout.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, TimeoutError
from typing import IO, cast

HASH_SEED = "4242"
_SERVE = """
import base64, importlib, json, os, sys
answers = os.fdopen(int(sys.argv[1]), "w")
import flytekit.extend.backend.base_connector  # paid while the suite runs other clauses
for line in sys.stdin:
    request = json.loads(line)
    sys.path[:0] = [p for p in request["path"] if p not in sys.path]  # the parent's, as of this request
    importlib.invalidate_caches()
    try:
        obj = importlib.import_module(request["module"])
        for part in request["qualname"].split("."):
            obj = getattr(obj, part)
        answer = {"encoded": base64.b64encode(obj.decode(base64.b64decode(request["data"])).encode()).decode()}
    except BaseException as exc:
        answer = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    print(json.dumps(answer), file=answers, flush=True)
"""


class DecoderProcess:
    """One waiting child; replaced after it dies or hangs."""

    def __init__(self) -> None:
        env = dict(os.environ, PYTHONHASHSEED=HASH_SEED)
        answers, theirs = os.pipe()
        self._child = subprocess.Popen([sys.executable, "-c", _SERVE, str(theirs)], stdin=subprocess.PIPE,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, env=env,
                                       pass_fds=(theirs,))
        os.close(theirs)
        self._requests = cast(IO[str], self._child.stdin)  # not None: stdin=PIPE
        self._answers = os.fdopen(answers, "r")
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fresh-process-reader")

    @property
    def alive(self) -> bool:
        return self._child.poll() is None

    def reencode(self, module: str, qualname: str, data: bytes, timeout: float) -> tuple[bytes | None, str]:
        """(``encode(decode(data))`` as computed in the child, or None and why not)."""
        request = {"module": module, "qualname": qualname, "data": base64.b64encode(data).decode(),
                   "path": [p for p in sys.path if p]}
        try:
            self._requests.write(json.dumps(request) + "\n")
            self._requests.flush()
            line = self._reader.submit(self._answers.readline).result(timeout=timeout)
        except TimeoutError:
            self.close()
            return None, f"did not answer within {timeout:g} s"
        except OSError as exc:
            return None, f"the process died ({exc})"
        if not line:
            return None, f"the process exited with {self._child.wait()}"
        answer = json.loads(line)
        return (base64.b64decode(answer["encoded"]), "") if "encoded" in answer else (None, answer["error"])

    def close(self) -> None:
        self._child.kill()
        self._child.communicate()  # reaps it and closes its stdin
        self._answers.close()
        self._reader.shutdown(wait=False)


_lock = threading.Lock()
_decoder: DecoderProcess | None = None


def prestart() -> None:
    """Start the child now, so its imports overlap with the clauses that run first."""
    _ready()


def _ready() -> DecoderProcess:
    global _decoder
    with _lock:
        if _decoder is None or not _decoder.alive:
            _decoder = DecoderProcess()
        return _decoder


def reencode(module: str, qualname: str, data: bytes, timeout: float) -> tuple[bytes | None, str]:
    return _ready().reencode(module, qualname, data, timeout)


@atexit.register
def _shutdown() -> None:
    if _decoder is not None:
        _decoder.close()
