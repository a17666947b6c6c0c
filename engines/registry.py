"""A small generic registry of typed instances (DESIGN §10.1).

Field types, filter operators, aggregations, flow node types, rule triggers and
actions, chart widgets and JsonLogic operators are all classes that declare a
``type: ClassVar[str]``; one instance of each is registered explicitly, in one
place per engine, and looked up by that type string::

    class TextField(FieldType):
        type = "text"

    FIELD_TYPES: Registry[FieldType] = Registry("field_type")
    FIELD_TYPES.register(TextField())
    FIELD_TYPES.get("text")

Modelled on Baserow's ``core/registry.py``, without the Django parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Generic, Protocol, TypeVar


class Typed(Protocol):
    """Anything whose class declares ``type: ClassVar[str]`` can be registered.

    (Spelled as a read-only property so that subclasses may write plain
    ``type = "text"`` without repeating the ``ClassVar`` annotation.)
    """

    @property
    def type(self) -> str: ...


T = TypeVar("T", bound=Typed)


class RegistryError(LookupError):
    """Base class of registry errors."""


class AlreadyRegisteredError(RegistryError):
    """An instance with the same ``type`` is already registered."""


class NotRegisteredError(RegistryError):
    """No instance is registered under the requested ``type``."""

    def __init__(self, registry: str, type_: str) -> None:
        self.registry = registry
        self.type = type_
        super().__init__(f"{registry}: unknown type {type_!r}")


class Registry(Generic[T]):
    """Instances keyed by their class's ``type``, in registration order.

    ``version`` is bumped by every change, so callers can cache work derived
    from the registry (compiled rules, generated schemas) and notice changes.
    """

    def __init__(self, name: str, items: Iterable[T] = ()) -> None:
        self.name = name
        self.version = 0
        self._items: dict[str, T] = {}
        for item in items:
            self.register(item)

    def register(self, item: T, *, replace: bool = False) -> T:
        """Add ``item`` under ``type(item).type``; returns the item."""
        type_ = getattr(item, "type", None)
        if not isinstance(type_, str) or not type_:
            raise ValueError(f"{self.name}: {item!r} does not declare a non-empty `type`")
        if type_ in self._items and not replace:
            raise AlreadyRegisteredError(f"{self.name}: type {type_!r} is already registered")
        self._items[type_] = item
        self.version += 1
        return item

    def unregister(self, type_: str) -> T:
        """Remove and return the instance registered under ``type_``."""
        try:
            item = self._items.pop(type_)
        except KeyError:
            raise NotRegisteredError(self.name, type_) from None
        self.version += 1
        return item

    def get(self, type_: str) -> T:
        """The instance registered under ``type_``; raises ``NotRegisteredError``."""
        try:
            return self._items[type_]
        except KeyError:
            raise NotRegisteredError(self.name, type_) from None

    def find(self, type_: str) -> T | None:
        """The instance registered under ``type_``, or ``None``."""
        return self._items.get(type_)

    def types(self) -> list[str]:
        """Registered type strings, in registration order."""
        return list(self._items)

    def as_mapping(self) -> Mapping[str, T]:
        """A read-only live view ``type -> instance`` (for fast dispatch)."""
        return MappingProxyType(self._items)

    def copy(self, name: str | None = None) -> Registry[T]:
        """A new registry with the same instances (to extend or restrict)."""
        return Registry(name or self.name, self._items.values())

    def __contains__(self, type_: object) -> bool:
        return type_ in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<Registry {self.name!r}: {len(self._items)} types>"
