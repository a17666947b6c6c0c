"""The call event a telephony system posts, and the click-to-call request and answer."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

#: The events a call goes through.
EVENTS = ("ringing", "answered", "ended", "recording")


class CallEvent(BaseModel):
    """One event of a call, posted to ``/api/v1/public/cti/{app}/{channel}``."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    event: Literal["ringing", "answered", "ended", "recording"] = Field(
        description="What happened: ringing (a call comes in), answered, ended, recording "
        "(the recording is available)."
    )
    call_id: str = Field(
        min_length=1, max_length=200, description="The telephony system's id of the call."
    )
    from_: str = Field(
        alias="from", min_length=1, max_length=64, description="The caller's number."
    )
    to: str = Field(min_length=1, max_length=64, description="The number called.")
    extension: str | None = Field(
        default=None, max_length=32, description="The agent extension the call rings or reached."
    )
    at: AwareDatetime = Field(description="When it happened (ISO 8601 with a time zone).")
    direction: Literal["inbound", "outbound"] = Field(
        default="inbound",
        description="inbound: a customer calls (the customer is ``from``); outbound: an agent "
        "calls a customer (``to``).",
    )
    duration: int | None = Field(
        default=None, ge=0, le=7 * 24 * 3600, description="Seconds talked (ended)."
    )
    recording_url: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://",
        description="Where the recording is (recording, or ended).",
    )


class CallAccepted(BaseModel):
    status: Literal["accepted", "duplicate"]
    customer_id: int | None = None
    ticket_id: int | None = None
    communication_id: int | None = None
    #: Users whose open pages were sent a screen pop (ringing).
    popped: list[int] = Field(default_factory=list)


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(min_length=3, max_length=64, pattern=r"^\+?[0-9 ()\-.]{3,64}$")
    record: bool = False


class CallOut(BaseModel):
    call_id: str
    status: Literal["sent"]
    extension: str
    to: str
    #: The telephony system's HTTP status and answer.
    status_code: int
    answer: object | None = None


class PhoneChannel(BaseModel):
    app_id: int
    key: str
    name: str
    extension: str


class Phones(BaseModel):
    channels: list[PhoneChannel]
    #: The form's fields of type phone.
    phone_fields: list[str]
