"""Reading a template from a directory or a .zip into ``{path: bytes}`` — the same files either
way, checked before anything is parsed: no entry outside the template (zip-slip, absolute
paths, links), a limit on the number of files, on each file and on the whole (counted while
reading, not trusted from the archive's headers, against zip bombs)."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path, PurePosixPath

from templates.problems import TemplateProblem, problem

MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_FILES = 5000
MANIFEST = "manifest.json"


class SourceError(Exception):
    def __init__(self, found: TemplateProblem) -> None:
        super().__init__(found.message)
        self.problem = found


def _safe_name(name: str) -> str:
    """The entry's path inside the template, or SourceError when it would leave it."""
    if "\\" in name or "\x00" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise SourceError(problem(name, "", "unsafe_path", name=name))
    parts = PurePosixPath(name).parts
    if any(part in ("..", "") for part in parts):
        raise SourceError(problem(name, "", "unsafe_path", name=name))
    return "/".join(p for p in parts if p != ".")


class _Budget:
    def __init__(self, max_total: int, max_file: int) -> None:
        self.left = max_total
        self.max_total = max_total
        self.max_file = max_file
        self.count = 0

    def read(self, name: str, stream: io.BufferedIOBase) -> bytes:
        self.count += 1
        if self.count > MAX_FILES:
            raise SourceError(problem("", "", "too_many_files", limit=MAX_FILES))
        limit = min(self.max_file, self.left)
        data = stream.read(limit + 1)
        if len(data) > limit:
            which = name if len(data) > self.max_file else ""
            raise SourceError(
                problem(which, "", "too_large", limit=min(self.max_file, self.max_total))
            )
        self.left -= len(data)
        return data


def _strip_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    """A zip of a folder (``desk/manifest.json`` …) reads as the folder's contents."""
    if MANIFEST in files or not files:
        return files
    tops = {name.split("/", 1)[0] for name in files}
    if len(tops) == 1 and all("/" in name for name in files):
        top = tops.pop()
        if f"{top}/{MANIFEST}" in files:
            return {name.split("/", 1)[1]: data for name, data in files.items()}
    return files


def read_zip(data: bytes | Path, *, max_total: int = MAX_TOTAL_BYTES) -> dict[str, bytes]:
    """The files of a template .zip (raises SourceError)."""
    budget = _Budget(max_total, min(MAX_FILE_BYTES, max_total))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(problem("", "", "not_a_template")) from exc
    files: dict[str, bytes] = {}
    with archive:
        for info in archive.infolist():
            name = _safe_name(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SourceError(problem(info.filename, "", "unsafe_path", name=info.filename))
            if info.is_dir() or not name:
                continue
            if info.file_size > budget.max_file:
                raise SourceError(problem(name, "", "too_large", limit=budget.max_file))
            try:
                with archive.open(info) as stream:
                    files[name] = budget.read(name, stream)  # type: ignore[arg-type]
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
                raise SourceError(problem(name, "", "not_a_template")) from exc
    return _strip_folder(files)


def read_directory(root: Path, *, max_total: int = MAX_TOTAL_BYTES) -> dict[str, bytes]:
    """The files of a template directory; links leading out of it are refused."""
    budget = _Budget(max_total, min(MAX_FILE_BYTES, max_total))
    base = root.resolve()
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_symlink() and not path.resolve().is_relative_to(base):
            raise SourceError(problem(name, "", "unsafe_path", name=name))
        if not path.is_file() or any(part.startswith(".") for part in PurePosixPath(name).parts):
            continue
        with path.open("rb") as stream:
            files[name] = budget.read(name, stream)
    return files


def read_source(path: Path) -> dict[str, bytes]:
    """A template directory or .zip file (raises SourceError)."""
    if path.is_dir():
        return read_directory(path)
    if path.is_file():
        return read_zip(path)
    raise SourceError(problem(str(path), "", "not_a_template"))


def write_zip(files: dict[str, bytes]) -> bytes:
    """The files as a .zip (manifest first, then in path order)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files, key=lambda n: (n != MANIFEST, n)):
            archive.writestr(name, files[name])
    return buffer.getvalue()


def write_directory(files: dict[str, bytes], root: Path) -> None:
    for name, data in files.items():
        target = root / _safe_name(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
