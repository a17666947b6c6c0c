"""Pass 3, resolve fields: every path the widget uses becomes a :class:`FieldRef`.

Identifiers come only from the schemas: a path walks the source form's fields, many-to-one
relations (``customer.region``), the source's many-relations and the declared one-to-many
joins. Unknown fields, paths through something that is not a relation, fields the viewer may
not see, aggregations the field type does not offer (``sum`` of a text field), grouping by an
ungroupable field and buckets of non-date fields are refused here, naming the field's path.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engines.form.check import rule_var_paths
from engines.form.registry import FIELD_TYPES
from engines.report.buckets import BUCKETS
from engines.report.catalog import Catalog, FormEntry, Viewer
from engines.report.errors import ReportError
from engines.report.fields import SYSTEM_FIELDS, FieldRef, ManyJoin, spec_ref, system_ref
from engines.report.measures import MEASURES
from engines.report.passes.validate import leaves
from engines.report.plan import Plan
from engines.report.spec import Measure, Widget

STAGE = "resolve"


class _Resolver:
    def __init__(self, plan: Plan, catalog: Catalog, viewer: Viewer) -> None:
        self.plan = plan
        self.widget: Widget = plan.widget
        self.catalog = catalog
        self.viewer = viewer
        self.refs: dict[str, FieldRef] = {}

    def error(self, code: str, where: str, **params: Any) -> ReportError:
        path = f"widgets[{self.widget.key}]" + (f".{where}" if where else "")
        return ReportError(code, widget=self.widget.key, stage=STAGE, path=path, **params)

    def _check_hidden(self, entry: FormEntry, key: str, where: str, path: str) -> None:
        if key in self.viewer.hidden(entry.key):
            raise self.error("report.hidden_field", where, field=path)

    def _join(self, key: str, where: str) -> tuple[ManyJoin, FormEntry] | None:
        for index, join in enumerate(self.widget.joins):
            if join.key != key:
                continue
            entry = self.catalog.form(join.form)
            if entry is None:
                raise self.error("report.unknown_form", f"joins[{index}].form", form=join.form)
            spec = entry.schema.find(join.via)
            target = FIELD_TYPES.get(spec.type).reference(spec) if spec is not None else None
            is_link = spec is not None and FIELD_TYPES.get(spec.type).has_links
            if target != ("form", self.plan.source.schema.id) or is_link:
                raise self.error(
                    "report.unknown_join", f"joins[{index}].via", join=join.via, form=join.form
                )
            self._check_hidden(entry, join.via, where, f"{key}")
            return ManyJoin(key, "reverse", entry.key, join.via), entry
        return None

    def resolve(self, path: str, where: str) -> FieldRef:
        """The reference of ``path`` (cached); ``where`` is the spec path for errors."""
        found = self.refs.get(path)
        if found is not None:
            return found
        segments = path.split(".")
        entry = self.plan.source
        chain: tuple[str, ...] = ()
        forms: tuple[str, ...] = ()
        many: ManyJoin | None = None
        for index, segment in enumerate(segments):
            last = index == len(segments) - 1
            if index == 0 and segment not in entry.schema.keys:
                joined = self._join(segment, where)
                if joined is not None:
                    many, entry = joined
                    if last:
                        return self._records(path, entry, many)
                    continue
            spec = entry.schema.find(segment)
            if spec is None:
                if last and segment in SYSTEM_FIELDS:
                    self._check_hidden(entry, segment, where, path)
                    ref = replace(
                        system_ref(path, entry, segment, chain), many=many, chain_forms=forms
                    )
                    self.refs[path] = ref
                    return ref
                raise self.error("report.unknown_field", where, form=entry.key, field=path)
            self._check_hidden(entry, segment, where, path)
            field_type = FIELD_TYPES.get(spec.type)
            if last:
                ref = replace(spec_ref(path, entry, spec, chain, many), chain_forms=forms)
                self.refs[path] = ref
                return ref
            target = field_type.reference(spec)
            if target is None or target[0] != "form":
                raise self.error("report.unknown_join", where, join=path, form=entry.key)
            target_entry = self.catalog.form_by_id(int(target[1]))
            if target_entry is None:
                raise self.error("report.unknown_join", where, join=path, form=entry.key)
            if many is not None:
                raise self.error("report.unknown_join", where, join=path, form=entry.key)
            if field_type.has_links:
                if chain:
                    raise self.error("report.unknown_join", where, join=path, form=entry.key)
                many = ManyJoin(segment, "links", target_entry.key, segment)
            else:
                chain = (*chain, ".".join(segments[: index + 1]))
                forms = (*forms, target_entry.key)
            entry = target_entry
        raise self.error(
            "report.unknown_field", where, form=entry.key, field=path
        )  # pragma: no cover

    def _records(self, path: str, entry: FormEntry, many: ManyJoin) -> FieldRef:
        ref = FieldRef(
            path,
            entry.key,
            "",
            "records",
            "number",
            "integer",
            None,
            frozenset({"count"}),
            False,
            (),
            many,
        )
        self.refs[path] = ref
        return ref

    def as_many(self, ref: FieldRef) -> FieldRef:
        """A many-relation of the source measured: the linked records (visible ones only)."""
        if ref.kind != "links" or ref.many is not None:
            return ref
        source = self.plan.source
        spec = source.schema.field(ref.key)
        target = FIELD_TYPES.get(spec.type).reference(spec)
        entry = self.catalog.form_by_id(int(target[1])) if target else None
        if entry is None:
            raise self.error("report.unknown_join", "", join=ref.path, form=source.key)
        return self._records(
            ref.path + "#links", entry, ManyJoin(ref.key, "links", entry.key, ref.key)
        )

    # --- usages -----------------------------------------------------------------------------

    def measure(self, measure: Measure, where: str) -> None:
        for offset, leaf in enumerate(leaves(measure)):
            at = where if leaf is measure else f"{where}.{('numerator', 'denominator')[offset]}"
            if leaf.filter is not None:
                self.filter(leaf.filter, f"{at}.filter")
            if leaf.field is None:
                continue
            ref = self.as_many(self.resolve(leaf.field, f"{at}.field"))
            measure_type = MEASURES.get(leaf.agg)
            if measure_type.capability not in ref.aggregations:
                raise self.error(
                    "report.bad_aggregation",
                    f"{at}.field",
                    agg=leaf.agg,
                    field=leaf.field,
                    type=ref.type,
                )
            if ref.many is not None and not measure_type.partial_names:
                raise self.error(
                    "report.not_decomposable",
                    f"{at}.field",
                    agg=leaf.agg,
                    field=leaf.field,
                    join=ref.many.key,
                )
        if measure.filter is not None and measure.agg == "ratio":
            self.filter(measure.filter, f"{where}.filter")

    def dimension(self, index: int) -> None:
        dimension = self.widget.dimensions[index]
        where = f"dimensions[{index}].field"
        ref = self.resolve(dimension.field, where)
        if not ref.groupable or ref.many is not None:
            raise self.error("report.not_groupable", where, field=dimension.field, type=ref.type)
        if dimension.bucket is not None and ref.kind not in BUCKETS.get(dimension.bucket).kinds:
            raise self.error(
                "report.bad_bucket",
                f"dimensions[{index}].bucket",
                bucket=dimension.bucket,
                field=dimension.field,
                type=ref.type,
            )

    def filter(self, rule: Any, where: str) -> None:
        for name in rule_var_paths(rule):
            ref = self.resolve(name, where)
            field_type = FIELD_TYPES.find(ref.type)
            if ref.many is not None or (field_type is not None and not field_type.filterable):
                raise self.error(
                    "report.bad_filter", where, detail=f"the field {name!r} cannot be filtered on"
                )

    def single(self, path: str, where: str, *, dated: bool = False) -> None:
        ref = self.resolve(path, where)
        if ref.many is not None or ref.column is None:
            raise self.error("report.not_groupable", where, field=path, type=ref.type)
        if dated and not ref.bucketable:
            raise self.error(
                "report.bad_bucket", where, bucket="compare", field=path, type=ref.type
            )


def resolve_fields(plan: Plan, catalog: Catalog, viewer: Viewer) -> Plan:
    """The plan with ``refs`` for every path of the widget and of its runtime filters."""
    resolver = _Resolver(plan, catalog, viewer)
    widget = plan.widget
    for index, measure in enumerate(widget.measures):
        resolver.measure(measure, f"measures[{index}]")
    for index in range(len(widget.dimensions)):
        resolver.dimension(index)
    if widget.filter is not None:
        resolver.filter(widget.filter, "filter")
    if widget.compare is not None:
        resolver.single(widget.compare.field, "compare.field", dated=True)
    for bound in plan.runtime_filters:
        resolver.single(
            bound.field, f"runtime_filters[{bound.key}]", dated=bound.kind == "date_range"
        )
    return plan.but(refs=resolver.refs)
