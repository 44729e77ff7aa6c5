"""The collector's data read in memory must be exactly what coverage.py's ``get_data`` gives.

Each case runs a real ``coverage.Coverage`` in a child interpreter (a second collector in
this process would replace the session's own tracer), reads the stopped collector with
``collected_in_memory`` and only then with coverage.py's own ``get_data``, and compares
every file, line and arc, the files coverage.py "touches" (never imported, under
``source``) included.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

SCRIPT = """
import json, sys
import coverage
from pytest_pbe.measure.collected import collected_in_memory

cov = coverage.Coverage(data_file=None, config_file=True, auto_data=False)
cov.start()
if sys.argv[1] == "run":
    import app.used
    app.used.main()
cov.stop()
if sys.argv[2] == "flushed-before":
    cov.get_data()


def dump(data):
    files = {}
    for name in sorted(data.measured_files()):
        arcs = data.arcs(name) if data.has_arcs() else None
        files[name] = {
            "lines": sorted(data.lines(name) or []),
            "arcs": sorted(arcs or []),
            "lines_none": data.lines(name) is None,
        }
    return {
        "has_arcs": data.has_arcs(),
        "files": files,
        "unknown": [data.lines("/nowhere/x.py"), data.arcs("/nowhere/x.py")],
    }


fast = collected_in_memory(cov)
fast_dump = None if fast is None else dump(fast)
print(json.dumps({"fast": fast_dump, "slow": dump(cov.get_data())}))
"""

USED = """
def gen(n):
    for i in range(n):
        if i % 2:
            yield i


def main():
    total = sum(gen(5))
    squares = [x * x for x in range(3)]
    if total > 100:
        return None
    try:
        raise ValueError(total)
    except ValueError:
        pass
    return (lambda y: y + 1)(squares[-1])
"""


def _project(tmp_path: Path, run_config: str) -> Path:
    root = tmp_path / "proj"
    (root / "app" / "sub").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "used.py").write_text(textwrap.dedent(USED))
    (root / "app" / "never.py").write_text("def f():\n    return 1\n")
    (root / "app" / "sub" / "__init__.py").write_text("")
    (root / "app" / "sub" / "deep.py").write_text("X = 1\n")
    (root / "app" / "empty.py").write_text("")
    (root / "pyproject.toml").write_text(
        f'[tool.coverage.run]\nsource = ["app"]\n{textwrap.dedent(run_config)}'
    )
    return root


def _run(root: Path, *args: str) -> dict[str, Any]:
    src = Path(__file__).resolve().parents[2] / "src"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": f"{root}:{src}", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize(
    "run_config",
    [
        "branch = true\ncore = 'ctrace'\n",
        "branch = true\ncore = 'pytrace'\n",
        "branch = false\ncore = 'ctrace'\n",
        "branch = false\ncore = 'pytrace'\n",
        pytest.param(
            "branch = false\ncore = 'sysmon'\n",
            marks=pytest.mark.skipif(
                sys.version_info < (3, 12), reason="sys.monitoring is Python 3.12's"
            ),
        ),
    ],
    ids=["branch-ctrace", "branch-pytrace", "lines-ctrace", "lines-pytrace", "lines-sysmon"],
)
def test_the_collected_data_is_coverage_pys_own(tmp_path, run_config):
    seen = _run(_project(tmp_path, run_config), "run", "-")

    assert seen["fast"] is not None
    assert seen["fast"] == seen["slow"]
    files = seen["slow"]["files"]
    used = next(v for k, v in files.items() if k.endswith("used.py"))
    never = next(v for k, v in files.items() if k.endswith("never.py"))
    assert used["lines"]  # executed
    assert never["lines"] == []  # touched: never imported, under source
    assert any(k.endswith("deep.py") for k in files)
    assert seen["slow"]["has_arcs"] == ("branch = true" in run_config)
    if seen["slow"]["has_arcs"]:
        assert any(a < 0 or b < 0 for a, b in used["arcs"])  # entries and exits kept


def test_no_measured_file_ran_is_the_same_data_as_coverage_pys(tmp_path):
    seen = _run(_project(tmp_path, "branch = true\n"), "idle", "-")

    assert seen["fast"] == seen["slow"]
    assert all(not f["lines"] for f in seen["slow"]["files"].values())


def test_data_flushed_before_is_left_to_coverage_py(tmp_path):
    seen = _run(_project(tmp_path, "branch = true\n"), "run", "flushed-before")

    assert seen["fast"] is None
