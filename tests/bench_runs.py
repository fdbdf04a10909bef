"""Running a bench script the way a person does, for the tests that prove it works end to end."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def bench_json(module: str, *args: str, timeout: float) -> Any:
    """`python -m <module> <args>` from the project root; what it printed, as JSON."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout)
