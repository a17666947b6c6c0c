"""Every field type, registered explicitly in one place."""

from __future__ import annotations

from engines.form.types.base import FieldType
from engines.form.types.choice import BooleanField, MultiSelect, SingleSelect
from engines.form.types.computed import AutoNumber, Formula
from engines.form.types.contact import Email, Phone, Url
from engines.form.types.dates import DateField, DateTimeField
from engines.form.types.file import Attachments
from engines.form.types.identity import DepartmentField, UserField
from engines.form.types.number import Currency, DecimalNumber, Integer, Percent
from engines.form.types.relation import Lookup, MultiRelation, Relation
from engines.form.types.subtable import SubTable
from engines.form.types.text import MultiLineText, RichText, SingleLineText
from engines.registry import Registry

FIELD_TYPES: Registry[FieldType] = Registry(
    "field_type",
    [
        SingleLineText(),
        MultiLineText(),
        RichText(),
        Integer(),
        DecimalNumber(),
        Currency(),
        Percent(),
        DateField(),
        DateTimeField(),
        BooleanField(),
        SingleSelect(),
        MultiSelect(),
        UserField(),
        DepartmentField(),
        Email(),
        Phone(),
        Url(),
        AutoNumber(),
        Formula(),
        SubTable(),
        Attachments(),
        Relation(),
        MultiRelation(),
        Lookup(),
    ],
)
