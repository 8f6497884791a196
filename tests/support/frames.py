"""Prints, as JSON, the files of the frames on this process's stack whose module `inspect` cannot
find. Run as `python [options] -m tests.support.frames` (tests/test_dag_runner.py)."""

import inspect
import json

print(json.dumps([frame.filename for frame in inspect.stack() if inspect.getmodule(frame.frame) is None]))
