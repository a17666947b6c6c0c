"""Schema change plans: add, rename, retype, archive, restore, purge, indexes."""

from __future__ import annotations

import pytest

from engines.form.diff import PlanError, archive_removed, plan_form
from engines.form.schema import FormSchema


def form(*fields, archived=()) -> FormSchema:
    return FormSchema.model_validate(
        {
            "id": 9,
            "key": "f",
            "label": {"en": "F"},
            "fields": list(fields),
            "archived": list(archived),
        }
    )


def text(fid, key, **kw):
    return {"id": fid, "key": key, "type": "text", "label": {"en": key}, **kw}


def kinds(ops):
    return [(op.kind, op.field_id) for op in ops]


def test_new_form_creates_its_table():
    assert kinds(plan_form(None, form(text(1, "a")))) == [("create_table", None)]


def test_add_rename_and_label_change():
    old = form(text(1, "a"))
    new = form(
        {**text(1, "renamed"), "label": {"en": "New label"}},
        {
            "id": 2,
            "key": "n",
            "type": "select",
            "label": {"en": "N"},
            "options": {"options": [{"value": "x"}]},
        },
    )
    ops = plan_form(old, new)
    assert kinds(ops) == [("rename_field", 1), ("add_column", 2), ("add_index", 2)]
    assert ops[0].detail == {"from": "a", "to": "renamed"}


def test_removed_field_is_archived_not_dropped():
    old = form(text(1, "a"), text(2, "b", unique=True))
    with pytest.raises(PlanError) as error:
        plan_form(old, form(text(1, "a")))
    assert error.value.code == "field_vanished"
    new = archive_removed(old, form(text(1, "a")))
    assert [f.id for f in new.archived] == [2]
    assert kinds(plan_form(old, new)) == [("archive_field", 2), ("drop_unique", 2)]


def test_restore_and_purge():
    old = form(text(1, "a"), archived=[text(2, "b"), text(3, "c")])
    new = form(text(1, "a"), text(2, "b"), archived=[text(3, "c")])
    assert kinds(plan_form(old, new)) == [("restore_field", 2)]
    assert kinds(plan_form(old, old, purge={3})) == [("purge_column", 3)]
    with pytest.raises(PlanError) as error:
        plan_form(old, old, purge={1})
    assert error.value.code == "purge_not_archived"


def test_retype_allowed_and_refused():
    old = form({"id": 1, "key": "n", "type": "integer", "label": {"en": "N"}})
    to_decimal = form({"id": 1, "key": "n", "type": "decimal", "label": {"en": "N"}})
    assert kinds(plan_form(old, to_decimal)) == [("retype_column", 1)]
    to_date = form({"id": 1, "key": "n", "type": "date", "label": {"en": "N"}})
    with pytest.raises(PlanError) as error:
        plan_form(old, to_date)
    assert error.value.code == "retype_impossible"


def test_option_change_that_alters_the_column_is_a_retype():
    old = form(text(1, "a", options={"max_length": 50}))
    new = form(text(1, "a", options={"max_length": 80}))
    assert kinds(plan_form(old, new)) == [("retype_column", 1)]


def test_unique_toggle():
    old = form(text(1, "a"))
    new = form(text(1, "a", unique=True))
    assert kinds(plan_form(old, new)) == [("add_unique", 1)]
    assert kinds(plan_form(new, old)) == [("drop_unique", 1)]


def relation(fid, key, type_="relation", form_id=2, **kw):
    return {
        "id": fid,
        "key": key,
        "type": type_,
        "label": {"en": key},
        "options": {"form_id": form_id},
        **kw,
    }


def test_many_relations_are_added_retyped_and_purged_without_columns():
    old = form(text(1, "a"))
    added = form(text(1, "a"), relation(2, "links", "multirelation"))
    assert kinds(plan_form(old, added)) == [("add_column", 2)]
    single = form(text(1, "a"), relation(2, "links"))
    assert kinds(plan_form(single, added)) == [("retype_column", 2), ("drop_index", 2)]
    assert kinds(plan_form(added, single)) == [("retype_column", 2), ("add_index", 2)]
    archived = archive_removed(added, form(text(1, "a")))
    assert kinds(plan_form(added, archived)) == [("archive_field", 2)]
    assert kinds(plan_form(archived, archived, purge={2})) == [("purge_column", 2)]


def test_a_relation_keeps_its_form():
    for type_ in ("relation", "multirelation"):
        old = form(relation(1, "r", type_))
        with pytest.raises(PlanError) as error:
            plan_form(old, form(relation(1, "r", type_, form_id=3)))
        assert error.value.code == "retarget_impossible"
    with pytest.raises(PlanError) as error:
        plan_form(form(relation(1, "r")), form(relation(1, "r", "multirelation", form_id=3)))
    assert error.value.code == "retarget_impossible"
