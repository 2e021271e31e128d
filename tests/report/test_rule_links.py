"""Markdown and HTML reports link each rule id to its entry in docs/rules.md (relative, anchor = the rule id,
as `python -m auditor.report.ruledoc` writes them), and to the absolute documentation URL only when
CCME_AUDIT_DOCS_URL is configured; a hostile rule id or URL cannot break out of the link."""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.report import html, markdown, ruledoc
from auditor.report.common import DOCS_URL_ENV
from tests.report.conftest import HOSTILE, make_finding

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ["examples/cloudformation/ccme-prerequisites-broken.yaml", "-c", "examples/config/ccme-prerequisites.yaml"]
ANCHORS = set(re.findall(r'<a id="([^"]+)"></a>', ruledoc.DOC.read_text(encoding="utf-8")))
BASE = "https://git.example.org/ccme-audit/blob/main/docs/rules.md"


def _html_rules(page: str) -> dict[str, dict[str, str]]:
    island = re.search(r'<script type="application/json" id="ccme-data">(.*?)</script>', page, re.S)
    assert island is not None
    data: dict[str, dict[str, str]] = json.loads(island.group(1))["rules"]
    return data


@pytest.fixture()
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv(DOCS_URL_ENV, raising=False)


def test_markdown_links_every_failing_rule_to_its_anchor_in_docs_rules_md(
        at_root: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iac", *BROKEN, "-f", "markdown"]) == 1
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(("| FAIL |", "| ERROR |"))]
    assert rows
    for row in rows:
        link = re.search(r"\| \[([^\]]+)\]\(docs/rules\.md#([A-Z0-9-]+)\) \|", row)
        assert link is not None, row
        assert link.group(1).replace("\\", "") == link.group(2) and link.group(2) in ANCHORS
    assert "https://" + "git.example.org" not in out


def test_html_links_every_rule_to_its_anchor_and_to_the_url_only_when_configured(
        at_root: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iac", *BROKEN, "-f", "html", "-o", str(tmp_path / "r.html")]) == 1
    rules = _html_rules((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert rules and all(entry["k"] == f"docs/rules.md#{rule_id}" and rule_id in ANCHORS
                         for rule_id, entry in rules.items())
    monkeypatch.setenv(DOCS_URL_ENV, BASE)
    assert main(["iac", *BROKEN, "-f", "html", "-o", str(tmp_path / "u.html")]) == 1
    assert main(["iac", *BROKEN, "-f", "markdown"]) == 1
    out = capsys.readouterr().out
    rules = _html_rules((tmp_path / "u.html").read_text(encoding="utf-8"))
    assert all(entry["k"] == f"{BASE}#{rule_id}" for rule_id, entry in rules.items())
    assert f"]({BASE}#CCME-KMS-ROTATION-SNS)" in out and "](docs/rules.md#" not in out


def test_a_hostile_rule_id_or_docs_url_stays_inside_the_link(evaluation_of, monkeypatch) -> None:
    monkeypatch.setenv(DOCS_URL_ENV, "https://docs.example.org/a b)<x>\"'")
    finding = make_finding(rule_id=HOSTILE)
    text = markdown.render(evaluation_of(finding))
    row = next(line for line in text.splitlines() if line.startswith("| FAIL |"))
    target = re.search(r"\]\(([^)]*)\)", row)
    assert target is not None
    assert re.fullmatch(r"[A-Za-z0-9:/?=&%~.\-_+,;@#]+", target.group(1)), target.group(1)
    assert "<script" not in text and "<img" not in text
    page = html.render(evaluation_of(finding))
    assert "<script>window" not in page and "<img" not in page
    link = next(iter(_html_rules(page).values()))["k"]
    assert re.fullmatch(r"[A-Za-z0-9:/?=&%~.\-_+,;@#]+", link)
    assert htmllib.unescape(link) == link
