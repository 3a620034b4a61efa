"""docs/python.md works as written against the installed wheel: the quick
start runs twice (the totals survive the restart), every other Python
example runs once."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from helpers import repo_root

DOC = repo_root() / "docs" / "python.md"


def python_blocks() -> List[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def run(code: str, cwd: Path) -> str:
    script = cwd / "example.py"
    script.write_text(code)
    r = subprocess.run([sys.executable, str(script)], cwd=cwd, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_quick_start_runs_twice_and_totals_survive(tmp_path: Path) -> None:
    text = DOC.read_text()
    quick = text[text.index("## Quick start"):]
    code = re.search(r"```python\n(.*?)```", quick, flags=re.S)
    assert code, "no quick start block"
    first = run(code.group(1), tmp_path)
    second = run(code.group(1), tmp_path)
    assert "requests 2, tokens 440, errors 1" in first, first
    assert "requests 4, tokens 880, errors 2" in second, second
    assert (tmp_path / "usage-data" / "llm-usage" / "usage-stats.json").exists()


@pytest.mark.parametrize("index", range(1, len(python_blocks())))
def test_other_examples_run(index: int, tmp_path: Path) -> None:
    run(python_blocks()[index], tmp_path)
