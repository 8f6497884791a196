"""The DAG runner processes of `make run` (include/dag_runner.py, started by include/pipeline.py):
what keeps the per-task cost of dbt inside them down (docs/performance.md, "Design decisions")."""

from __future__ import annotations

import json
import subprocess
import sys

from include.pipeline import runner_command
from include.settings import REPO_ROOT


def _frames_without_module(interpreter: list[str]) -> list[str]:
    out = subprocess.run(
        [*interpreter, "-m", "tests.support.frames"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_every_frame_of_a_runner_has_a_module_inspect_finds():
    # dbt reads `inspect.stack()` for each behaviour flag of its adapter, on every dbt task; a frame
    # whose module inspect cannot name makes it walk all of sys.modules (thousands in a runner).
    command = runner_command(["transform"], "{}", stop_on_failure=True)
    interpreter = command[: command.index("-m")]
    assert _frames_without_module(interpreter) == []
    # ...which is what a plain `python -m` leaves: the frames of the frozen runpy.
    assert any("runpy" in name for name in _frames_without_module([sys.executable]))


def test_a_runner_hides_what_it_holds_from_the_collector():
    code = (
        "import gc, json; from include.dag_runner import settle_heap; import airflow.sdk;"
        "before = gc.get_freeze_count(); settle_heap();"
        "print(json.dumps([before, gc.get_freeze_count(), len(gc.get_objects())]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    before, frozen, still_tracked = json.loads(out.stdout.strip().splitlines()[-1])
    # Cosmos' full collection after each dbt command then walks only what the tasks made.
    assert before == 0 and frozen > 50_000 and still_tracked < frozen / 10
