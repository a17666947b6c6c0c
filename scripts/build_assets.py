#!/usr/bin/env python3
"""Copy the web UI's front-end files from node_modules into runtime/web/static/vendor/.

The packages and their versions are pinned by package.json and package-lock.json (``npm ci``
installs them); this script only copies the distributable files the pages load, each
package's licence texts, and writes ``vendor/MANIFEST.json`` listing every file with its
package, version and licence. Nothing is loaded from a CDN at run time.

Usage: ``python scripts/build_assets.py [--node-modules DIR] [--out DIR]`` (stdlib only;
``make assets`` runs it after ``npm ci``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
OUT = ROOT / "runtime" / "web" / "static" / "vendor"

#: package → [(path in the package, path under vendor/)]; a directory is copied whole.
FILES: dict[str, list[tuple[str, str]]] = {
    "htmx.org": [("dist/htmx.min.js", "htmx.min.js")],
    "echarts": [("dist/echarts.min.js", "echarts.min.js")],
    "json-logic-js": [("logic.js", "json-logic.js")],
    "sortablejs": [("Sortable.min.js", "Sortable.min.js")],
    "bpmn-js": [
        ("dist/bpmn-modeler.production.min.js", "bpmn-js/bpmn-modeler.production.min.js"),
        ("dist/bpmn-viewer.production.min.js", "bpmn-js/bpmn-viewer.production.min.js"),
        (
            "dist/bpmn-navigated-viewer.production.min.js",
            "bpmn-js/bpmn-navigated-viewer.production.min.js",
        ),
        # diagram-js.css, bpmn-js.css and bpmn-font/ (css/ refers to ../font/).
        ("dist/assets", "bpmn-js/assets"),
    ],
}

#: Files copied from each package's root, when present, next to its licence entry.
LICENCE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "NOTICE")


class BuildError(Exception):
    """A problem the person running the build must fix (the message says how)."""


def _read_package(node_modules: Path, name: str) -> dict[str, str]:
    package_json = node_modules / name / "package.json"
    if not package_json.is_file():
        raise BuildError(
            f"{package_json} is missing: package {name!r} is not installed; "
            "run `npm ci` (or `make assets`) first"
        )
    data = json.loads(package_json.read_text(encoding="utf-8"))
    licence = data.get("license")
    if not isinstance(licence, str) or not licence:
        raise BuildError(f"{package_json} names no licence")
    return {"version": str(data["version"]), "licence": licence}


def _sources(source: Path, target: str) -> list[tuple[Path, str]]:
    """(file, path under vendor/) for a file or every file under a directory."""
    if source.is_file():
        return [(source, target)]
    if source.is_dir():
        return [
            (path, f"{target}/{path.relative_to(source).as_posix()}")
            for path in sorted(source.rglob("*"))
            if path.is_file()
        ]
    raise BuildError(f"{source} is missing (has the package's layout changed?)")


def build(node_modules: Path = NODE_MODULES, out: Path = OUT) -> dict[str, Any]:
    """Copy the files into ``out`` (emptied first) and return the manifest written there."""
    if not node_modules.is_dir():
        raise BuildError(
            f"{node_modules} does not exist: install the front-end packages with `npm ci` "
            "(Node.js 20+ and npm are needed) or run `make assets`"
        )
    plan: list[tuple[Path, str, str]] = []  # (source, target, package)
    packages: dict[str, dict[str, Any]] = {}
    for name, entries in FILES.items():
        info = _read_package(node_modules, name)
        licence_files = []
        for filename in LICENCE_FILES:
            path = node_modules / name / filename
            if path.is_file():
                target = f"licenses/{name}/{filename}"
                plan.append((path, target, name))
                licence_files.append(target)
        if not licence_files:
            raise BuildError(f"package {name!r} ships no licence file ({', '.join(LICENCE_FILES)})")
        packages[name] = {**info, "licence_files": licence_files}
        for source, target in entries:
            plan.extend(
                (path, dest, name) for path, dest in _sources(node_modules / name / source, target)
            )

    if out.exists():
        shutil.rmtree(out)
    files = []
    for source, target, name in plan:
        dest = out / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        content = dest.read_bytes()
        files.append(
            {
                "path": target,
                "package": name,
                "version": packages[name]["version"],
                "licence": packages[name]["licence"],
                "from": source.relative_to(node_modules).as_posix(),  # under node_modules/
                "bytes": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
            }
        )
    manifest: dict[str, Any] = {
        "generated_by": "scripts/build_assets.py",
        "packages": packages,
        "files": sorted(files, key=lambda f: f["path"]),
    }
    (out / "MANIFEST.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node-modules", type=Path, default=NODE_MODULES)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        manifest = build(args.node_modules, args.out)
    except BuildError as exc:
        print(f"build_assets: {exc}", file=sys.stderr)
        return 1
    print(
        f"build_assets: {len(manifest['files'])} files from {len(FILES)} packages into {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
