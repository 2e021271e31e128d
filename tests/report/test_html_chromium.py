"""The HTML report in headless Chromium: it renders, its filters work, and hostile names execute nothing."""

from __future__ import annotations

import html as htmlmod
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from auditor.engine.findings import Severity, Status
from auditor.report import html
from tests.report import chromium
from tests.report.conftest import HOSTILE, make_finding, with_status

pytestmark = pytest.mark.skipif(
    chromium.chromium() is None, reason="chromium is not installed: apt-get install -y chromium"
)


class Tags(HTMLParser):
    """The elements of a serialized DOM, and any inline event handler attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []
        self.handlers: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append(tag)
        self.handlers.extend((k, v) for k, v in attrs if k.startswith("on"))


def rows(dom: str) -> list[tuple[str, str]]:
    """(finding id, status) of the rendered rows, in order."""
    return re.findall(r'<tr class="row" data-id="([0-9a-f]{16})" data-status="([A-Z]+)">', dom)


@pytest.fixture(scope="module")
def page(tmp_path_factory, broken) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(html.render(broken), encoding="utf-8")
    return path


def test_screenshot_renders(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    chromium.screenshot(page, shot)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a real page, not a blank one


def test_default_view_lists_failing_findings(page: Path, broken) -> None:
    dom = chromium.dump_dom(page)
    got = rows(dom)
    problems = [f for f in broken.findings if f.status in (Status.FAIL, Status.ERROR)]
    assert len(got) == len(problems) and {s for _, s in got} == {"FAIL", "ERROR"}
    assert 'data-ready="1"' in dom


def test_filters_by_status_severity_area_and_resource(page: Path, broken) -> None:
    passed = {f.id for f in broken.findings if f.status is Status.PASS}
    assert {i for i, _ in rows(chromium.dump_dom(page, "status=PASS"))} == passed
    wanted = {
        f.id
        for f in broken.findings
        if f.status in (Status.FAIL, Status.ERROR) and f.area == "s3" and f.severity is Severity.MEDIUM
    }
    assert {i for i, _ in rows(chromium.dump_dom(page, "severity=medium&area=s3"))} == wanted
    userdata = {f.id for f in broken.findings if "userdata" in f.resource_id}
    assert {i for i, _ in rows(chromium.dump_dom(page, "status=all&q=USERDATA"))} == userdata


def test_open_finding_shows_source_evidence_and_remediation(page: Path, broken) -> None:
    target = next(f for f in broken.findings if f.rule_id == "CCME-KMS-ALIAS-CMH-EBS")
    dom = chromium.dump_dom(page, f"open={target.id}")
    detail = dom.split(f'<tr class="detail" data-id="{target.id}">', 1)[1].split("</tr>", 1)[0]
    text = htmlmod.unescape(detail)
    assert "seed 000 (000_6e3bc4fc67598c3a.txt)" in text and "Alias: <KMS_PREFIX>/cmh_ebs" in text
    assert "expected a kms.alias exists, observed null" in text
    assert (
        "aws kms create-key --region eu-west-1" in text
        and '<button class="copy" type="button">Copy' in detail
    )


def test_hostile_names_are_text_and_run_nothing(tmp_path: Path, evaluation_of) -> None:
    hostile = make_finding(
        rule_id="CCME-HOSTILE",
        resource_id=HOSTILE,
        resource_name=HOSTILE,
        message=HOSTILE,
        evidence=({"check": HOSTILE, "observed": HOSTILE},),
        remediation=("s3/put-bucket-versioning",),
        context={
            "params": {"region": "eu-west-1", "account": "111122223333"},
            "attributes": {"name": HOSTILE},
        },
    )
    closing = make_finding(
        resource_id="</script><script>document.title='pwned'</script><!--", message="<!-- </script>"
    )
    evaluation = evaluation_of(hostile, closing, with_status(make_finding(resource_id="ok"), Status.PASS))
    path = tmp_path / "hostile.html"
    path.write_text(html.render(evaluation), encoding="utf-8")
    raw = path.read_text()
    assert raw.count("</script>") == 2  # the data island and the report script, nothing injected
    dom = chromium.dump_dom(path, f"open={hostile.id}")
    title = re.search(r"<title>(.*?)</title>", dom).group(1)
    assert "pwned" not in title
    tags = Tags()
    tags.feed(dom)
    assert "img" not in tags.seen and tags.seen.count("script") == 2 and not tags.handlers
    assert len(rows(dom)) == 2
    assert htmlmod.escape(HOSTILE, quote=False) in dom  # shown as text


def test_attribution_and_history_are_text_and_run_nothing(tmp_path: Path, evaluation_of) -> None:
    import dataclasses

    from auditor.report import history

    hostile = dataclasses.replace(
        make_finding(rule_id=HOSTILE, resource_id="bucket-h", message="versioning suspended"),
        attribution={"status": "found", "text": f"changed by {HOSTILE} at 2026-11-23T09:00:00Z with s3:{HOSTILE}",
                     "window": {"start": "a", "end": "b"}})
    current = evaluation_of(hostile)
    before = dataclasses.replace(current, findings=(with_status(hostile, Status.PASS, attribution=None),),
                                 evaluated_at="2026-11-21T00:00:00+00:00")
    rule_history = history.build([history.point(before, "old")], current, f"dir/{HOSTILE}")
    path = tmp_path / "history.html"
    path.write_text(html.render(current, history=rule_history), encoding="utf-8")
    assert path.read_text().count("</script>") == 2
    dom = chromium.dump_dom(path, f"open={hostile.id}")
    assert "pwned" not in re.search(r"<title>(.*?)</title>", dom).group(1)
    tags = Tags()
    tags.feed(dom)
    assert "img" not in tags.seen and tags.seen.count("script") == 2 and not tags.handlers
    detail = htmlmod.unescape(dom.split(f'<tr class="detail" data-id="{hostile.id}">', 1)[1].split("</tr>", 1)[0])
    assert f"Who changed it (CloudTrail): changed by {HOSTILE}" in detail
    assert "History: FAIL since 2026-11-22T00:00:00+00:00 (was PASS)" in detail
    section = htmlmod.unescape(dom.split('<section id="history">', 1)[1].split("</section>", 1)[0])
    assert HOSTILE in section and "2026-11-22T00:00:00+00:00" in section


def test_each_rendered_rule_id_links_to_its_docs_anchor(page: Path, broken) -> None:
    dom = chromium.dump_dom(page)
    links = re.findall(r'<td class="rid"><a href="([^"]+)" rel="noopener noreferrer">([^<]+)</a></td>', dom)
    assert len(links) == len(rows(dom)) and links
    assert all(href == f"docs/rules.md#{rule_id}" for href, rule_id in links)
