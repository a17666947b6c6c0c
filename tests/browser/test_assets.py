"""The vendored front-end files (``make assets``) load and work in Chromium: htmx talks to the
live server, ECharts draws, json-logic-js evaluates, SortableJS attaches, and bpmn-js renders a
flow Tangram exported."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from engines.flow.bpmn import to_bpmn
from engines.logic import evaluate
from tests.engines.flow.bpmn_support import ticket

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "runtime" / "web" / "static" / "vendor"
JSONLOGIC_TESTS = ROOT / "tests" / "engines" / "logic" / "data" / "jsonlogic-tests.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    path = VENDOR / "MANIFEST.json"
    if not path.is_file():
        pytest.fail(f"{path} is missing: build the front-end files with `make assets`")
    return json.loads(path.read_text(encoding="utf-8"))


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values: 2 and 2.0 are the same number, true and 1 are not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(same_json, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def load(page: Any, live: Any, *files: str) -> None:
    """The sign-in page (base.html loads htmx; Tangram's Content-Security-Policy applies) with
    the vendored ``files`` added as the pages will add them, from /static/vendor/."""
    page.goto(f"{live.url}/sign-in")
    for name in files:
        url = f"{live.url}/static/vendor/{name}"
        if name.endswith(".css"):
            page.add_style_tag(url=url)
        else:
            page.add_script_tag(url=url)


def add_box(page: Any, html: str) -> None:
    page.evaluate("(html) => document.body.insertAdjacentHTML('beforeend', html)", html)


def test_manifest_lists_every_file_with_its_package_version_and_licence(manifest):
    listed = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = {
        path.relative_to(VENDOR).as_posix()
        for path in VENDOR.rglob("*")
        if path.is_file() and path.name != "MANIFEST.json"
    }
    assert set(listed) == on_disk
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    for name, package in manifest["packages"].items():
        assert package["version"] == lock["packages"][f"node_modules/{name}"]["version"]
        assert package["licence"] and package["licence_files"]
    for entry in listed.values():
        assert entry["version"] == manifest["packages"][entry["package"]]["version"]
    for wanted in ("htmx.min.js", "echarts.min.js", "json-logic.js", "Sortable.min.js"):
        assert wanted in listed
    assert manifest["packages"]["htmx.org"]["version"].startswith("2.")


def test_every_file_is_served_as_built(live, manifest):
    with httpx.Client(base_url=live.url, timeout=30) as client:
        for entry in manifest["files"]:
            response = client.get(f"/static/vendor/{entry['path']}")
            assert response.status_code == 200, entry["path"]
            assert hashlib.sha256(response.content).hexdigest() == entry["sha256"]
        assert client.get("/static/vendor/MANIFEST.json").json() == manifest


def test_the_sign_in_page_runs_the_vendored_htmx(page, live, manifest):
    page.goto(f"{live.url}/sign-in")
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("htmx.version") == manifest["packages"]["htmx.org"]["version"]
    loaded = page.evaluate(
        "[...document.scripts].map(s => new URL(s.src).pathname).filter(p => p.includes('htmx'))"
    )
    assert loaded == ["/static/vendor/htmx.min.js"]
    add_box(
        page, '<button hx-get="/api/health" hx-target="#out">check</button><pre id="out"></pre>'
    )
    page.evaluate("htmx.process(document.body)")
    page.get_by_role("button", name="check").click()
    page.locator("#out").filter(has_text='"status"').wait_for()
    assert json.loads(page.locator("#out").inner_text())["status"] == "ok"
    assert page.errors == []


def test_echarts_draws_a_chart(page, live, manifest):
    load(page, live, "echarts.min.js")
    assert page.evaluate("typeof echarts") == "object"
    assert page.evaluate("echarts.version") == manifest["packages"]["echarts"]["version"]
    add_box(page, '<div id="chart" style="width: 600px; height: 400px"></div>')
    drawn = page.evaluate(
        """() => {
            const box = document.getElementById('chart');
            const chart = echarts.init(box, null, {renderer: 'canvas'});
            chart.setOption({
                animation: false,
                title: {text: '工单 per day'},
                xAxis: {type: 'category', data: ['Mon', 'Tue', 'Wed']},
                yAxis: {type: 'value'},
                series: [{type: 'bar', data: [3, 5, 2]}],
            });
            const canvas = box.querySelector('canvas');
            return {
                data: chart.getOption().series[0].data,
                width: canvas.width,
                height: canvas.height,
            };
        }"""
    )
    assert drawn["data"] == [3, 5, 2]
    assert drawn["width"] >= 600 and drawn["height"] >= 400
    assert page.errors == []


def test_json_logic_js_agrees_with_the_server_engine_on_the_official_tests(page, live):
    """The browser's field linkage and the server's checks use one language: json-logic-js
    and engines.logic give the same answer to every case of the official test suite."""
    cases = [entry for entry in json.loads(JSONLOGIC_TESTS.read_text()) if isinstance(entry, list)]
    load(page, live, "json-logic.js")
    in_browser = page.evaluate(
        "(cases) => cases.map(([rule, data]) => JSON.stringify(jsonLogic.apply(rule, data)))",
        cases,
    )
    disagree = [
        (rule, data, js, evaluate(rule, data))
        for (rule, data, _), js in zip(cases, in_browser, strict=True)
        if not same_json(json.loads(js) if js is not None else None, evaluate(rule, data))
    ]
    assert len(cases) > 250
    assert disagree == []
    assert page.errors == []


def test_sortable_reorders_a_list_by_dragging(page, live):
    load(page, live, "Sortable.min.js")
    add_box(page, '<ul id="fields"><li data-id="a">Alpha</li><li data-id="b">Beta</li></ul>')
    page.evaluate("Sortable.create(document.getElementById('fields'), {animation: 0})")
    page.get_by_text("Beta").drag_to(page.get_by_text("Alpha"))
    order = page.evaluate("Sortable.get(document.getElementById('fields')).toArray()")
    assert order == ["b", "a"]
    assert page.errors == []


def test_bpmn_js_renders_a_flow_tangram_exported(page, live):
    flow = ticket()
    load(
        page,
        live,
        "bpmn-js/assets/diagram-js.css",
        "bpmn-js/assets/bpmn-js.css",
        "bpmn-js/assets/bpmn-font/css/bpmn.css",
        "bpmn-js/bpmn-modeler.production.min.js",
    )
    add_box(page, '<div id="canvas" style="width: 1200px; height: 600px"></div>')
    result = page.evaluate(
        """async (xml) => {
            const modeler = new BpmnJS({container: '#canvas'});
            const {warnings} = await modeler.importXML(xml);
            const registry = modeler.get('elementRegistry');
            return {
                warnings: warnings.map(w => w.message),
                ids: registry.getAll().map(e => e.id),
            };
        }""",
        to_bpmn(flow),
    )
    assert result["warnings"] == []
    assert {node.id for node in flow.nodes} <= set(result["ids"])
    assert page.locator("#canvas .djs-element").count() >= len(flow.nodes)
    # The palette's icons come from bpmn-font, found by its stylesheet's relative URL.
    page.locator("#canvas .djs-palette .bpmn-icon-start-event-none").wait_for()
    faces = page.evaluate("document.fonts.load('16px bpmn').then(fs => fs.map(f => f.status))")
    assert faces and set(faces) == {"loaded"}
    assert page.errors == []
