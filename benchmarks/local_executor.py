"""Today's alternative, measured for real: one lifecycle through flytekit's own local executor.

``AsyncConnectorExecutorMixin.execute`` is what ``pyflyte run`` (local) and a plain call of a connector
task use: it creates the job, then sleeps 1 s before every get() until a terminal phase. Run as a
subprocess (``python -m benchmarks.local_executor POLLS``) because it installs rich progress output and
log handlers, and registers the connector globally; it prints the lifecycle's seconds as JSON.
"""

from __future__ import annotations

import json
import sys
import time


def script_for(polls: int) -> list:
    """A job script that reaches SUCCEEDED on exactly the ``polls``-th status read."""
    return ["PENDING"] + ["RUNNING"] * (polls - 2) + ["SUCCEEDED"]


def job_task() -> object:
    """A connector task for the reference connector's task type, as a connector plugin author writes one."""
    from flytekit.core.base_task import PythonTask
    from flytekit.core.interface import Interface
    from flytekit.extend.backend.base_connector import AsyncConnectorExecutorMixin

    from conformance.reference import TASK_TYPE

    class JobTask(AsyncConnectorExecutorMixin, PythonTask):
        def __init__(self) -> None:
            super().__init__(task_type=TASK_TYPE, name="benchmarks.job", task_config=None,
                             interface=Interface(inputs={"x": int}, outputs={"y": int}))

    return JobTask()


def one_lifecycle(polls: int) -> dict:
    """Seconds for one ``execute`` of a ``polls``-poll job, flytekit's loop unchanged."""
    from flytekit.extend.backend.base_connector import ConnectorRegistry

    from conformance.reference import ReferenceConnector
    from fake_backends import serve_jobs

    with serve_jobs(default_outputs={"y": 42}) as backend:
        ConnectorRegistry.register(ReferenceConnector(base_url=backend.url), override=True)
        backend.script(script_for(polls), outputs={"y": 42})
        task = job_task()
        began = time.perf_counter()
        outputs = task.execute(x=7)
        seconds = time.perf_counter() - began
        reads = backend.jobs()[0].reads
    return {"seconds": seconds, "polls": reads, "outputs": str(outputs)[:80]}


if __name__ == "__main__":
    print(json.dumps(one_lifecycle(int(sys.argv[1]) if len(sys.argv) > 1 else 5)))
