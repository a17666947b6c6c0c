"""scripts/build_assets.py, run as ``make assets`` runs it: a real subprocess over node_modules.

The build from the installed packages needs ``node_modules`` (``npm ci``); skipped without it
unless ``TANGRAM_REQUIRE_NODE=1``, when its absence fails the test."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_assets.py"
NODE_MODULES = ROOT / "node_modules"


def build(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def node_modules() -> Path:
    if not (NODE_MODULES / "htmx.org" / "package.json").exists():
        message = "needs node_modules (npm ci, or make node_modules/.installed)"
        if os.environ.get("TANGRAM_REQUIRE_NODE") == "1":
            pytest.fail(f"{message}, and TANGRAM_REQUIRE_NODE=1")
        pytest.skip(message)
    return NODE_MODULES


def test_missing_node_modules_fails_with_what_to_run(tmp_path):
    out = tmp_path / "vendor"
    result = build("--node-modules", tmp_path / "node_modules", "--out", out)
    assert result.returncode == 1
    assert "node_modules does not exist" in result.stderr and "npm ci" in result.stderr
    assert not out.exists()


def test_missing_package_is_named(tmp_path, node_modules):
    partial = tmp_path / "node_modules"
    shutil.copytree(node_modules / "htmx.org", partial / "htmx.org")
    result = build("--node-modules", partial, "--out", tmp_path / "vendor")
    assert result.returncode == 1
    assert "package 'echarts' is not installed" in result.stderr
    assert not (tmp_path / "vendor").exists()


def test_build_copies_every_file_and_lists_it_in_the_manifest(tmp_path, node_modules):
    out = tmp_path / "vendor"
    out.mkdir()
    (out / "stale.js").write_text("left from an older build")
    result = build("--node-modules", node_modules, "--out", out)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "MANIFEST.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    assert set(manifest["packages"]) == set(lock[""]["dependencies"])
    for name, package in manifest["packages"].items():
        declared = json.loads((node_modules / name / "package.json").read_text())
        assert package["version"] == lock[f"node_modules/{name}"]["version"]
        assert package["licence"] == declared["license"]
        assert all((out / path).is_file() for path in package["licence_files"])
    files = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk == set(files) | {"MANIFEST.json"}  # the stale file is gone
    for path, entry in files.items():
        content = (out / path).read_bytes()
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
        assert content == (node_modules / entry["from"]).read_bytes()
        assert entry["version"] == manifest["packages"][entry["package"]]["version"]
    # bpmn-font's stylesheet finds its fonts at the relative path it names.
    css = (out / "bpmn-js/assets/bpmn-font/css/bpmn.css").read_text()
    assert "../font/bpmn.woff2" in css and "bpmn-js/assets/bpmn-font/font/bpmn.woff2" in files
    for name in ("htmx.min.js", "echarts.min.js", "json-logic.js", "Sortable.min.js"):
        assert name in files
