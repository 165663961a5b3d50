"""Container args are rendered per attempt before CreateTask, as FlytePropeller's connector plugin does (F-CREATE-3)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flyteidl.core import literals_pb2, tasks_pb2

from conformance.rendering import RenderError, paths_for, render_args, rendered_template
from conformance.task import TaskSpec, as_literal_map_pb

PYFLYTE_ARGS = ["pyflyte-execute", "--inputs", "{{.input}}", "--output-prefix", "{{.outputPrefix}}",
                "--raw-output-data-prefix", "{{.rawOutputDataPrefix}}", "--checkpoint-path",
                "{{.checkpointOutputPrefix}}", "--prev-checkpoint", "{{.prevCheckpointPrefix}}"]


def _inputs(**values: object) -> literals_pb2.LiteralMap:
    return as_literal_map_pb(values)


def test_the_arguments_pyflyte_execute_reads_are_rendered_with_the_attempts_paths(tmp_path: Path) -> None:
    paths = paths_for(str(tmp_path / "exec-0"), "", "exec-n0-0", "proj-dev")
    assert render_args(PYFLYTE_ARGS, paths, _inputs()) == [
        "pyflyte-execute", "--inputs", str(tmp_path / "exec-0-inputs" / "inputs.pb"),
        "--output-prefix", str(tmp_path / "exec-0"), "--raw-output-data-prefix", str(tmp_path / "exec-0" / "raw"),
        "--checkpoint-path", str(tmp_path / "exec-0" / "_flytecheckpoints"), "--prev-checkpoint", '""']


def test_templates_match_in_any_case_with_spaces_and_a_dollar(tmp_path: Path) -> None:
    paths = paths_for(str(tmp_path / "e-0"), "", "e-n0-0", "ns")
    assert render_args(["{{ .OUTPUTPREFIX }}", "{{$outputprefix}}", "x{{.Namespace}}y"], paths, _inputs()) == [
        str(tmp_path / "e-0"), str(tmp_path / "e-0"), "xnsy"]


def test_a_retry_points_at_the_previous_attempts_checkpoints_and_gets_its_own_key(tmp_path: Path) -> None:
    paths = paths_for(str(tmp_path / "e-1"), str(tmp_path / "e-0"), "1e-n0-1", "ns")
    assert paths.previous_checkpoint_prefix == str(tmp_path / "e-0" / "_flytecheckpoints")
    assert paths.per_retry_unique_key == "ae_n0_1", "leading non-letters become 'a', others '_', as propeller does"


def test_input_values_are_printed_as_propeller_prints_them(tmp_path: Path) -> None:
    paths = paths_for(str(tmp_path / "e-0"), "", "e-n0-0", "ns")
    inputs = _inputs(n=3, ok=True, ratio=2.0, name="a b")
    items = [literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=i)))
             for i in (1, 2)]
    inputs.literals["items"].collection.literals.extend(items)
    assert render_args(["{{.Inputs.n}} {{.inputs.ok}} {{.Inputs.ratio}} {{.Inputs.name}} {{.Inputs.items}}"],
                       paths, inputs) == ["3 true 2 a b [1,2]"]
    with pytest.raises(RenderError, match="no input 'missing'"):
        render_args(["{{.Inputs.missing}}"], paths, inputs)


def test_the_rendered_template_is_a_copy_and_inputs_pb_is_written_where_the_args_point(tmp_path: Path) -> None:
    template = tasks_pb2.TaskTemplate(type="x", container=tasks_pb2.Container(image="i", args=PYFLYTE_ARGS))
    inputs = _inputs(n=3)
    paths = paths_for(str(tmp_path / "e-0"), "", "e-n0-0", "ns")
    rendered = rendered_template(template, inputs, paths)
    assert list(template.container.args) == PYFLYTE_ARGS, "the registered template is not changed"
    written = literals_pb2.LiteralMap.FromString(Path(rendered.container.args[2]).read_bytes())
    assert written == inputs
    assert os.path.isfile(paths.task_template_path)


def test_a_task_without_a_container_is_sent_as_it_is(tmp_path: Path) -> None:
    template = tasks_pb2.TaskTemplate(type="x")
    spec = TaskSpec(template, _inputs(), str(tmp_path))
    assert spec.template_for(spec.new_attempt()) is template


def test_a_retry_attempt_renders_the_previous_attempts_checkpoints(tmp_path: Path) -> None:
    template = tasks_pb2.TaskTemplate(type="x", container=tasks_pb2.Container(image="i", args=PYFLYTE_ARGS))
    spec = TaskSpec(template, _inputs(), str(tmp_path))
    first = spec.new_attempt()
    retry = spec.new_attempt(1, execution_name=first.execution_name)
    args = list(spec.template_for(retry).container.args)
    assert args[args.index("--prev-checkpoint") + 1] == os.path.join(first.output_prefix, "_flytecheckpoints")
    assert args[args.index("--output-prefix") + 1] == retry.output_prefix
