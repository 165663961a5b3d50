"""``--connector=all`` lists every installed connector, the ones it cannot check with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

SYNC_PLUGIN = '''
from flytekit.extend.backend.base_connector import ConnectorRegistry, Resource, SyncConnectorBase


class EchoConnector(SyncConnectorBase):
    def __init__(self):
        super().__init__(task_type_name="fake_sync_echo")

    async def do(self, task_template, inputs=None, **kwargs):
        return Resource(phase=0)


ConnectorRegistry.register(EchoConnector())  # as plugins do at import
'''


@pytest.fixture
def sync_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A site directory with one distribution declaring a flytekit plugin that registers a sync connector."""
    site = tmp_path / "site"
    info = site / "fakesync-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakesync\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[flytekit.plugins]\nsync = fake_plugin_sync\n")
    (site / "fake_plugin_sync.py").write_text(SYNC_PLUGIN)
    from flytekit.extend.backend.base_connector import ConnectorRegistry

    monkeypatch.setattr(ConnectorRegistry, "_REGISTRY", {})  # the plugin registers at import, once per run
    monkeypatch.setattr(ConnectorRegistry, "_METADATA", {})
    monkeypatch.syspath_prepend(str(site))


@pytest.mark.usefixtures("sync_plugin")
def test_a_sync_connector_is_listed_as_not_checked_with_the_reason(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rs", "--connector=all", "-k", "loads")
    result.stdout.fnmatch_lines([
        "*fake_plugin_sync.EchoConnector LOAD SKIP: not checked: fake_plugin_sync.EchoConnector is not an "
        "AsyncConnectorBase (a sync connector answers in one do() call*",
    ])
    assert result.ret == 0, "a connector the suite cannot check is listed, not a failure"
