"""Report safety: hostile resource names, ids, tags, messages and evidence stay inert in every format.

The golden evaluation (tests/golden) with every resource-controlled string replaced by a payload:
HTML (the element and attribute structure equals that of a benign render: nothing injected, no
javascript: URL), JUnit (parses as XML; the payload is only text), SARIF (valid JSON; the payload is
data), Markdown (no link, code span or table cell break survives) and text (no raw ESC or control
characters).
"""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser
from typing import Any

import pytest

from auditor.engine.evaluate import Evaluation
from auditor.report import Format, render
from tests.golden.regenerate import golden_evaluation

PAYLOADS = {
    "script": "<script>alert('x')</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
    "script-close": "</script><script>alert(1)</script>",
    "comment": "--><svg onload=alert(1)><!--",
    "markdown-link": "[click](javascript:alert(1))",
    "markdown-table": "a | b | c\n| --- |",
    "backticks": "```\n`rm -rf /`",
    "xml-breaker": "]]><x>&amp;</x><![CDATA[",
    "control": "bell\x07nul\x00vt\x0bff\x0c",
    "terminal": "\x1b[31mred\x1b[0m\x1b]8;;http://evil\x07link\x1b]8;;\x07\x9b2J",
}
BENIGN = "benign-value-0042"


def hostile(payload: str) -> Evaluation:
    """Every string a resource controls becomes the payload (tagged with the finding's index)."""
    base = golden_evaluation()
    findings = []
    for n, f in enumerate(base.findings):
        value = f"{payload}{n}"
        attributes = {**(f.context.get("attributes") or {}), "name": value, "tags": {value: value}}
        findings.append(dataclasses.replace(
            f, resource_id=value, resource_name=value, message=f"{f.message} {value}",
            evidence=({"path": "name", "observed": value, "expected": value},),
            context={**f.context, "attributes": attributes},
        ))
    return dataclasses.replace(base, findings=tuple(findings))


class Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[tuple[str, tuple[str, ...]]] = Counter()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[(tag, tuple(sorted(a for a, _ in attrs)))] += 1
        self.urls.extend(v for a, v in attrs if a in ("href", "src", "action", "formaction") and v)


def structure(text: str) -> Structure:
    parser = Structure()
    parser.feed(text)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def benign_html() -> Structure:
    return structure(render(hostile(BENIGN), Format.HTML))


@pytest.mark.parametrize("name", PAYLOADS)
def test_html_is_inert(name: str, benign_html: Structure) -> None:
    parsed = structure(render(hostile(PAYLOADS[name]), Format.HTML))
    assert parsed.tags == benign_html.tags, set(parsed.tags) ^ set(benign_html.tags)
    assert not [u for u in parsed.urls if u.strip().lower().startswith(("javascript:", "data:", "vbscript:"))]


def _texts(element: ET.Element) -> str:
    return " ".join([*(element.attrib.values()), *(t for t in element.itertext())])


@pytest.mark.parametrize("name", PAYLOADS)
def test_junit_parses_and_holds_the_payload_as_text(name: str) -> None:
    text = render(hostile(PAYLOADS[name]), Format.JUNIT)
    root = ET.fromstring(text)
    tags = {e.tag for e in root.iter()}
    assert tags <= {"testsuites", "testsuite", "testcase", "failure", "error", "skipped", "properties", "property",
                    "system-out", "system-err"}, tags
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", text)
    if name in ("script", "attribute", "xml-breaker"):
        assert PAYLOADS[name] + "0" in " ".join(_texts(e) for e in root.iter())


@pytest.mark.parametrize("name", PAYLOADS)
def test_sarif_is_json_with_the_payload_as_data(name: str) -> None:
    text = render(hostile(PAYLOADS[name]), Format.SARIF)
    doc = json.loads(text)
    assert doc["version"] == "2.1.0"
    if PAYLOADS[name].isprintable():  # others are normalised (control characters dropped): still data
        assert PAYLOADS[name] + "0" in json.dumps(doc, ensure_ascii=False)


def markdown_html(text: str) -> str:
    """The Markdown as a CommonMark renderer with tables and raw HTML on shows it."""
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark", {"html": True}).enable("table").render(text))


@pytest.fixture(scope="module")
def benign_markdown() -> Structure:
    return structure(markdown_html(uncapped_markdown(hostile(BENIGN))))


def uncapped_markdown(evaluation: Evaluation) -> str:
    """The Markdown without its comment-size cap: a longer payload would drop a details block that a short benign
    value keeps, and the structures would differ for size alone (the cap is tested below)."""
    from auditor.report import markdown

    return markdown.render(evaluation, max_chars=10_000_000)


@pytest.mark.parametrize("name", PAYLOADS)
def test_markdown_is_escaped(name: str, benign_markdown: Structure) -> None:
    text = uncapped_markdown(hostile(PAYLOADS[name]))
    parsed = structure(markdown_html(text))
    # No raw HTML, link, code span, table cell or line break of the payload's: the rendered
    # structure is the benign one's.
    assert parsed.tags == benign_markdown.tags, set(parsed.tags) ^ set(benign_markdown.tags)
    assert not [u for u in parsed.urls if u.strip().lower().startswith(("javascript:", "data:", "vbscript:"))]
    assert "\x1b" not in text and "\x00" not in text


@pytest.mark.parametrize("name", PAYLOADS)
def test_capped_markdown_is_escaped_too(name: str, benign_markdown: Structure) -> None:
    """Under a small cap (findings counted, not cut in half) the payload still adds no element of its own."""
    from auditor.report import markdown

    text = markdown.render(hostile(PAYLOADS[name]), max_chars=8_000)
    parsed = structure(markdown_html(text))
    assert "more failing findings not listed" in text  # the cap was reached
    assert set(parsed.tags) <= set(benign_markdown.tags) | {("em", ())}, set(parsed.tags) - set(benign_markdown.tags)
    assert not [u for u in parsed.urls if u.strip().lower().startswith(("javascript:", "data:", "vbscript:"))]


@pytest.mark.parametrize("name", PAYLOADS)
def test_text_has_no_raw_control_characters(name: str) -> None:
    for color in (False, True):
        text = render(hostile(PAYLOADS[name]), Format.TEXT, color=color)
        payload_free = text.replace("\x1b[", "") if color else text  # the formatter's own colours
        assert "\x1b]" not in text and "\x9b" not in text
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]", payload_free), repr(text[:300])
        if not color:
            assert "\x1b" not in text


def test_the_payloads_reach_the_reports() -> None:
    """The hostile strings are in the findings the formatters see (else the tests above prove nothing)."""
    evaluation: Any = hostile(PAYLOADS["script"])
    assert all(f.resource_id.startswith(PAYLOADS["script"]) for f in evaluation.findings)
    assert PAYLOADS["script"] + "0" in json.loads(render(evaluation, Format.JSON))["findings"][0]["resource_id"]
