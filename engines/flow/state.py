"""An instance's live state: tokens, tasks and timers, plus what a transition asks the outside
world to do (effects) and what it did (history).

These are plain slotted dataclasses, fast to build in memory and one-to-one with the rows the
runtime stores (``flow_instances``, ``flow_tokens``, ``flow_tasks``, ``flow_timers``,
``flow_history``). Each item carries ``seq``, its id within the instance, and a ``state`` mark
(``new`` / ``dirty`` / ``clean``) so a store writes only what a transition changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# instance statuses
RUNNING = "running"
COMPLETED = "completed"
REJECTED = "rejected"
CANCELLED = "cancelled"
FAILED = "failed"
FINISHED = frozenset({COMPLETED, REJECTED, CANCELLED, FAILED})

# token statuses
READY = "ready"  # about to enter its node
WAITING = "waiting"  # parked at a task, timer, job, join or call
# task statuses
OPEN = "open"
DONE = "completed"
VOID = "cancelled"
# timer statuses
PENDING = "pending"
FIRED = "fired"

NEW, DIRTY, CLEAN = "new", "dirty", "clean"


@dataclass(slots=True)
class Token:
    seq: int
    node: str
    status: str = READY
    #: The edge the token arrived by (joins count them).
    via: str | None = None
    #: Node bookkeeping (a countersign's signers and votes, a pending assignment, a job).
    data: dict[str, Any] | None = None
    state: str = NEW


@dataclass(slots=True)
class Task:
    seq: int
    node: str
    token: int
    created_at: datetime
    #: The user working it; None while it waits in a pool to be claimed.
    assignee: int | None = None
    #: Pools that may claim it: ``[kind, key]`` pairs (``user``, ``role``, ``group``,
    #: ``department``, ``department_tree``, ``admins``).
    candidates: list[list[Any]] = field(default_factory=list)
    status: str = OPEN
    due_at: datetime | None = None
    #: The signer's position in a countersign (None for a plain task).
    signer: int | None = None
    outcome: str | None = None
    completed_by: int | None = None
    completed_at: datetime | None = None
    comment: str | None = None
    data: dict[str, Any] | None = None
    #: Set by the store once the row exists (the API's task id).
    id: int | None = None
    state: str = NEW


@dataclass(slots=True)
class Timer:
    seq: int
    node: str
    token: int
    due_at: datetime
    status: str = PENDING
    #: For boundary timers: the activity token it watches.
    boundary_of: int | None = None
    state: str = NEW


@dataclass(slots=True)
class Effect:
    """Work for the outside world, done in (``call``, ``service``) or after the transaction.

    ``service``: run the node's service action as a job, then ``service_done``;
    ``timer``: schedule a job firing ``timer`` at its due time;
    ``call``: start flow ``data["flow"]`` with ``data["variables"]``, then ``child_done``;
    ``cancel_call``: cancel the child started for ``token``;
    ``notify``: tell ``data["users"]`` about ``task`` (assigned, CC 抄送, overdue).
    """

    kind: str
    token: int | None = None
    node: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Event:
    """One history entry: who did what, when, and which data changed."""

    at: datetime
    action: str
    actor: int | None = None
    node: str | None = None
    task: int | None = None
    data: dict[str, Any] | None = None


@dataclass(slots=True)
class Assignment:
    """A pending assignment: token ``token`` at user task ``node`` needs its users resolved."""

    token: int
    node: str


@dataclass(slots=True)
class Resolution:
    """Who an assignee resolved to: users (ids) and pools (``[kind, key]``)."""

    users: list[int] = field(default_factory=list)
    pools: list[list[Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.users or self.pools)


#: Who gets a task nobody else resolved to (the engine's last resort, so a task never vanishes).
ADMINS = Resolution(pools=[["admins", ""]])


class Instance:
    """A flow instance: its variables, the record it runs on, and its live items."""

    __slots__ = (
        "calendars",
        "dirty",
        "effects",
        "error",
        "flow",
        "gone_tokens",
        "graph",
        "history",
        "id",
        "pending",
        "queue",
        "record",
        "row_version",
        "seq",
        "started_by",
        "status",
        "tasks",
        "timers",
        "tokens",
        "variables",
        "visited",
    )

    def __init__(
        self,
        flow: Any,
        *,
        id: int | None = None,
        variables: dict[str, Any] | None = None,
        record: dict[str, Any] | None = None,
        started_by: int | None = None,
    ) -> None:
        self.id = id
        self.flow = flow
        #: The flow's indexed graph, set by the engine on first use.
        self.graph: Any = None
        self.status = RUNNING
        self.variables: dict[str, Any] = variables if variables is not None else {}
        self.record = record
        self.started_by = started_by
        self.tokens: dict[int, Token] = {}
        self.tasks: dict[int, Task] = {}
        self.timers: dict[int, Timer] = {}
        self.seq = 0
        self.error: dict[str, Any] | None = None
        self.effects: list[Effect] = []
        self.history: list[Event] = []
        self.pending: list[Assignment] = []
        self.row_version = 0
        #: Whether the instance row itself (status, variables, seq, error) changed.
        self.dirty = False
        #: Seqs of tokens consumed since the last save (their rows are deleted).
        self.gone_tokens: list[int] = []
        #: User-task nodes passed, each once, the latest visit last (where a task may be
        #: returned to).
        self.visited: list[str] = []
        #: Tokens ready to step (the interpreter's work list).
        self.queue: list[Token] = []
        #: Finds the business calendars of business-hours timers (None: the shipped ones).
        self.calendars: Any = None

    def next_seq(self) -> int:
        self.seq += 1
        self.dirty = True
        return self.seq

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.status == OPEN]

    def position(self) -> list[str]:
        """The nodes where the instance stands now."""
        return sorted({t.node for t in self.tokens.values()})

    def take_output(self) -> tuple[list[Effect], list[Event]]:
        """The effects and history of the transitions since the last call (and forget them)."""
        effects, history = self.effects, self.history
        self.effects, self.history = [], []
        return effects, history
