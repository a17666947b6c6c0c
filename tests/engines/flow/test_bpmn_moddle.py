"""Exported files load in bpmn-moddle, the parser under bpmn-js and Camunda Modeler, without
errors or warnings, and what it writes back imports to the same flow.

Needs ``node`` and ``node_modules/bpmn-moddle`` (``make node_modules/.installed``); skipped
without them unless ``TANGRAM_REQUIRE_NODE=1``, when their absence fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engines.flow.bpmn import from_bpmn, to_bpmn
from tests.engines.flow.bpmn_support import CASES, DATA, ROOT, every_element, ticket

SCRIPT = Path(__file__).parent / "moddle_check.mjs"
DESCRIPTOR = ROOT / "engines" / "flow" / "bpmn" / "tangram.json"


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    missing = []
    if path is None:
        missing.append("node")
    if not (ROOT / "node_modules" / "bpmn-moddle" / "package.json").exists():
        missing.append("node_modules/bpmn-moddle (make node_modules/.installed)")
    if missing:
        message = f"needs {' and '.join(missing)}"
        if os.environ.get("TANGRAM_REQUIRE_NODE") == "1":
            pytest.fail(f"{message}, and TANGRAM_REQUIRE_NODE=1")
        pytest.skip(message)
    assert path is not None
    return path


def moddle(node: str, files: list[Path], *args: str) -> list[dict]:
    completed = subprocess.run(
        [node, str(SCRIPT), *args, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=True,
    )
    return json.loads(completed.stdout)["files"]


def exports(tmp_path: Path) -> list[Path]:
    paths = []
    for name, make in CASES.items():
        path = tmp_path / f"{name}.bpmn"
        path.write_text(to_bpmn(make()), encoding="utf-8")
        paths.append(path)
    return paths


@pytest.mark.parametrize("descriptor", [False, True], ids=["plain", "with_descriptor"])
def test_exports_load_without_errors_or_warnings(node, tmp_path, descriptor):
    args = ["--descriptor", str(DESCRIPTOR)] if descriptor else []
    results = moddle(node, exports(tmp_path), *args)
    assert len(results) == len(CASES)
    for result in results:
        assert result["error"] is None, result
        assert result["warnings"] == [], result


@pytest.mark.parametrize("descriptor", [False, True], ids=["plain", "with_descriptor"])
def test_what_a_modeler_writes_back_imports_to_the_same_flow(node, tmp_path, descriptor):
    out = tmp_path / "written"
    out.mkdir()
    args = ["--out", str(out)] + (["--descriptor", str(DESCRIPTOR)] if descriptor else [])
    flows = {f"{name}.bpmn": make() for name, make in CASES.items()}
    results = moddle(node, exports(tmp_path), *args)
    for result in results:
        written = Path(result["written"])
        imported = from_bpmn(written.read_bytes())
        assert imported.problems == [], written.name
        assert imported.flow == flows[written.name], written.name


def test_the_check_reports_what_moddle_does_not_know(node, tmp_path):
    xml = (
        to_bpmn(ticket())
        .replace('<bpmn:startEvent id="start"', '<bpmn:startEvent id="start" bogus="1"')
        .replace('sourceRef="start"', 'sourceRef="nowhere"')
    )
    bad = tmp_path / "bad.bpmn"
    bad.write_text(xml)
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<bpmn:definitions")
    results = moddle(node, [bad, broken])
    assert any("bogus" in w for w in results[0]["warnings"])
    assert any("nowhere" in w for w in results[0]["warnings"])
    assert results[1]["error"]


def test_test_data_is_valid_bpmn(node):
    files = [DATA / "modeler.bpmn", DATA / "two_processes.bpmn", DATA / "foreign_timers.bpmn"]
    for result in moddle(node, files):
        assert result["error"] is None, result
        assert result["warnings"] == [], result


def test_every_element_export_is_checked(node, tmp_path):
    # The richest file on its own, so a failure names it.
    path = tmp_path / "every_element.bpmn"
    path.write_text(to_bpmn(every_element()))
    (result,) = moddle(node, [path], "--descriptor", str(DESCRIPTOR))
    assert (result["error"], result["warnings"]) == (None, [])
