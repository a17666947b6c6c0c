"""The template format without a database: labels out and back, versions, the safe reader
(zip-slip, links, sizes, a zip of a folder) and the three-way merge."""

from __future__ import annotations

import copy
import io
import os
import zipfile

import pytest

from builder.apps.definition import load
from templates import labels
from templates.layout import Template, from_files, to_files
from templates.manifest import Manifest, Version
from templates.merge import merge
from templates.source import SourceError, read_directory, read_zip, write_directory, write_zip
from tests.templates import sample

MANIFEST = Manifest(
    key="desk",
    name={"en": "Desk"},
    version="1.0.0",
    min_platform="0.0.0",
    locales=["zh-CN", "en"],
    parts=["forms", "flows", "rules", "sla", "calendars", "dashboards", "roles", "permissions"],
)


def test_labels_come_out_and_go_back_exactly():
    document = sample.definition({"customer": 1, "ticket": 2})["forms"][0]
    stripped, found = labels.extract(copy.deepcopy(document))
    assert "label" not in stripped and "label" not in stripped["fields"][0]
    assert found["fields[level].options.options[gold].label"] == {"en": "Gold", "zh-CN": "金牌"}
    for locale, texts in labels.by_locale(found).items():
        for path, text in texts.items():
            assert labels.put(stripped, path, locale, text)
    assert stripped == document
    assert not labels.put(stripped, "fields[nope].label", "en", "x")
    assert not labels.put(stripped, "fields[name].key", "en", "x")  # not a label key


def test_versions_compare_semantically():
    assert Version("1.10.0") > Version("1.9.3") > Version("1.9.3-rc.1")
    assert Version("2.0.0") == Version("2.0.0+build.5")
    with pytest.raises(ValueError):
        Version("1.2")


def test_a_definition_survives_the_files_and_a_folder_zip():
    definition = load(sample.definition({"customer": 1, "ticket": 2}))
    files = to_files(Template(MANIFEST, definition))
    template, problems = from_files(files)
    assert problems == [] and template is not None
    assert template.definition == definition
    # A zip of the template's folder reads the same.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"desk-1.0.0/{name}", data)
    assert read_zip(buffer.getvalue()) == files


def test_the_directory_reader_refuses_links_out_and_reads_what_zip_reads(tmp_path):
    definition = load(sample.definition({"customer": 1, "ticket": 2}))
    files = to_files(Template(MANIFEST, definition))
    write_directory(files, tmp_path / "t")
    assert read_directory(tmp_path / "t") == read_zip(write_zip(files))
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", tmp_path / "t" / "README.md")
    with pytest.raises(SourceError) as refused:
        read_directory(tmp_path / "t")
    assert refused.value.problem.code == "unsafe_path"


def test_zip_limits_are_counted_while_reading():
    files = {"manifest.json": b"{}", "seed/x.jsonl": b"a" * 5000}
    with pytest.raises(SourceError) as refused:
        read_zip(write_zip(files), max_total=1000)
    assert refused.value.problem.code == "too_large"


def _doc(**changes):
    document = load(sample.definition({"customer": 1, "ticket": 2})).model_dump(mode="json")
    for part, value in changes.items():
        document[part] = value
    return document


def test_the_merge_takes_each_side_and_lists_real_conflicts():
    base = _doc()
    local, theirs = copy.deepcopy(base), copy.deepcopy(base)
    local["roles"].append({"key": "auditor", "name": {"en": "Auditor"}})
    theirs["roles"] = [r for r in theirs["roles"] if r["key"] != "lead"]  # removed upstream
    ticket_local = next(f for f in local["forms"] if f["key"] == "ticket")
    ticket_theirs = next(f for f in theirs["forms"] if f["key"] == "ticket")
    ticket_local["fields"][0]["label"] = {"en": "Our subject"}
    ticket_theirs["fields"][0]["label"] = {"en": "Their subject"}
    ticket_theirs["fields"][1]["required"] = True
    theirs["rules"][0]["enabled"] = False
    result = merge(base, local, theirs)
    assert [r["key"] for r in result.definition["roles"]] == ["agent", "auditor"]
    assert result.definition["rules"][0]["enabled"] is False
    merged_ticket = next(f for f in result.definition["forms"] if f["key"] == "ticket")
    assert merged_ticket["fields"][1]["required"] is True
    [conflict] = result.conflicts
    assert (conflict["part"], conflict["element"], conflict["paths"]) == (
        "fields",
        "ticket.subject",
        ["label"],
    )
    assert merged_ticket["fields"][0]["label"] == {"en": "Our subject"}  # local until decided
    decided = merge(base, local, theirs, {("fields", "ticket.subject"): "theirs"})
    assert decided.unresolved == []
    ticket = next(f for f in decided.definition["forms"] if f["key"] == "ticket")
    assert ticket["fields"][0]["label"] == {"en": "Their subject"}
    assert merge(base, base, base).definition == base
