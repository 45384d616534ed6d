"""Coverage-guided fuzzing with atheris (libFuzzer): each target of ``atheris_fuzz.py`` in its own process.

Default suite: a fixed number of runs per target (seeded, so CI is reproducible). ``make soak`` sets
``FOLEYVAE_FUZZ_SECONDS`` to fuzz each target for that long instead and writes the run counts to
``benchmarks/results/fuzz_long.json``. A finding (an exception that is not the project's one-line FoleyError, or a
crash) makes libFuzzer exit non-zero and write the input under the test's temp folder; the test shows its tail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).with_name("atheris_fuzz.py")
RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "fuzz_long.json"
# runs per target in the default suite (the export target hashes and writes a multi-MB file per run)
RUNS = {"audio": 3000, "wav_header": 3000, "config": 2000, "controls": 20000, "checkpoint": 1500, "export": 60}
LONG_S = int(os.environ.get("FOLEYVAE_FUZZ_SECONDS", "0"))


def _atheris_available() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _atheris_available(), reason="atheris not installed (pip install 'foleyvae[dev]')")
@pytest.mark.parametrize("target", sorted(RUNS))
def test_atheris_target_finds_nothing(target: str, tmp_path: Path) -> None:
    budget = [f"-max_total_time={LONG_S}"] if LONG_S else [f"-runs={RUNS[target]}"]
    cmd = [sys.executable, str(HARNESS), target, *budget, "-seed=1", "-max_len=4096", "-len_control=0",
           f"-artifact_prefix={tmp_path}/", "-print_final_stats=1"]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max(600, 2 * LONG_S), env=env, cwd=tmp_path)
    log = proc.stdout + proc.stderr
    findings = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "leak-", "timeout-", "oom-")))
    assert proc.returncode == 0 and not findings, f"atheris {target}: rc {proc.returncode}, {findings}\n{log[-3000:]}"
    m = re.search(r"Done (\d+) runs in (\d+) second", log)
    assert m, log[-2000:]
    runs = int(m.group(1))
    if not LONG_S:
        assert runs == RUNS[target]
    else:
        data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        data[target] = {"runs": runs, "seconds": int(m.group(2)), "findings": 0}
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        tmp = RESULTS.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, RESULTS)
    print(f"atheris {target}: {runs} inputs, no finding")
