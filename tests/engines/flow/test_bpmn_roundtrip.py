"""Export then import gives back the same flow, for every element and property."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from engines.flow.bpmn import from_bpmn, to_bpmn
from tests.engines.flow.bpmn_flows import flows
from tests.engines.flow.bpmn_support import CASES, every_element


@pytest.mark.parametrize("case", CASES)
def test_round_trip_is_lossless(case):
    flow = CASES[case]()
    result = from_bpmn(to_bpmn(flow))
    assert result.problems == []
    assert result.flow == flow
    assert result.ok


@pytest.mark.parametrize("case", CASES)
def test_export_is_stable(case):
    flow = CASES[case]()
    xml = to_bpmn(flow)
    assert to_bpmn(flow) == xml
    reimported = from_bpmn(xml).flow
    assert reimported is not None
    assert to_bpmn(reimported) == xml


def test_bytes_round_trip():
    flow = every_element()
    assert from_bpmn(to_bpmn(flow).encode("utf-8")).flow == flow


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(flows())
def test_generated_flows_round_trip(flow):
    result = from_bpmn(to_bpmn(flow))
    assert result.problems == []
    assert result.flow == flow


def test_business_hours_timers_keep_their_options_in_the_extension():
    flow = every_element()
    xml = to_bpmn(flow)
    assert '"business_hours": true' in xml and '"calendar": "cn_workdays_2026_2027"' in xml
    back = from_bpmn(xml).flow
    assert back is not None
    assert back.node("approve_timeout").timer == flow.node("approve_timeout").timer
    assert back.node("approve_timeout").timer.business_hours is True
