"""Pass 4, joins: an alias per many-to-one step and per one-to-many join the fields walk.

The source is aliased too (``s``), so a drill-down condition can embed the widget's FROM clause
in a subquery over the form's own table without correlating to it. Aliases are shared between
compiles (``engines.report.aliases``): the same table and name give the same alias.
"""

from __future__ import annotations

from engines.report.aliases import alias as cached_alias
from engines.report.catalog import Catalog
from engines.report.fields import ManyJoin
from engines.report.plan import ManyPlan, OneJoin, Plan

STAGE = "joins"


def plan_joins(plan: Plan, catalog: Catalog) -> Plan:
    """The plan with ``alias``, ``ones`` (by path) and ``manys`` (by join key)."""
    ones: dict[str, OneJoin] = {}
    manys: dict[str, ManyPlan] = {}
    source = plan.source
    for ref in plan.refs.values():
        for depth, path in enumerate(ref.chain):
            if path in ones:
                continue
            parent = ref.chain[depth - 1] if depth else ""
            holder = ones[parent].entry if parent else source
            relation = holder.schema.field(path.rsplit(".", 1)[-1])
            target = catalog.form(ref.chain_forms[depth])
            assert target is not None
            ones[path] = OneJoin(
                path,
                target,
                cached_alias(target.table, f"j{len(ones)}"),
                parent,
                f"f_{relation.id}",
            )
        if ref.many is not None and ref.many.key not in manys:
            manys[ref.many.key] = _many(plan, catalog, ref.many, len(manys))
    return plan.but(alias=cached_alias(source.table, "s"), ones=ones, manys=manys)


def _many(plan: Plan, catalog: Catalog, join: ManyJoin, index: int) -> ManyPlan:
    entry = catalog.form(join.form)
    assert entry is not None
    alias = cached_alias(entry.table, f"m{index}")
    link = None
    if join.kind == "links":
        link = cached_alias(plan.source.links[join.via], f"l{index}")
    return ManyPlan(join, entry, alias, link)
