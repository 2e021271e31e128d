"""docs/rules.md: one entry per shipped rule (anchor = the rule id), generated from the rule files.

SARIF's help (helpUri with CCME_AUDIT_DOCS_URL) and the JUnit documentation line point at these anchors.
Regenerate after editing a rule:

    python -m auditor.report.ruledoc --write      (a test fails while docs/rules.md is out of date)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from auditor.engine.rules import Rule, load_rules
from auditor.fileio import write_text_atomic

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _entry(rule: Rule) -> list[str]:
    source = rule.source
    lines = [f'<a id="{rule.id}"></a>', "", f"### {rule.id}", "", f"**{_cell(rule.title)}**", ""]
    lines.append(f"- Severity: {rule.severity.value}; pack `{rule.pack}`; area {rule.area}; "
                 f"resource type `{rule.resource_type}`")
    where = source.document + (f", {source.section}" if source.section else "")
    lines.append(f"- Requirement: {_cell(where)}")
    if source.quote:
        lines.append(f"- Quote: \"{_cell(source.quote)}\"")
    if source.url:
        lines.append(f"- Reference: <{source.url}>")
    if rule.remediation:
        lines.append("- Fix templates: " + ", ".join(f"`{r}`" for r in rule.remediation)
                     + " (`ccme-audit remediate REPORT.json`)")
    if rule.description:
        lines += ["", _cell(rule.description)]
    lines += ["", f"`ccme-audit rules show {rule.id}` prints the rule with its assertion.", ""]
    return lines


def render(rules: Sequence[Rule]) -> str:
    by_pack: dict[str, list[Rule]] = {}
    for rule in sorted(rules, key=lambda r: (r.pack, r.id)):
        by_pack.setdefault(rule.pack, []).append(rule)
    out = [
        "# Rules",
        "",
        "Generated from `policies/` by `python -m auditor.report.ruledoc --write`: do not edit by hand.",
        f"{len(rules)} rules in {len(by_pack)} packs. Each entry's anchor is the rule id "
        "(SARIF help, and helpUri with CCME_AUDIT_DOCS_URL).",
        "",
    ]
    for pack, items in by_pack.items():
        out += [f"## Pack `{pack}` ({len(items)} rules)", ""]
        for rule in items:
            out += _entry(rule)
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    text = render(load_rules(None))
    if args == ["--write"]:
        write_text_atomic(DOC, text)
        sys.stderr.write(f"wrote {DOC}\n")
    elif args == ["--check"]:
        if not DOC.is_file() or DOC.read_text(encoding="utf-8") != text:
            sys.stderr.write(f"{DOC} is out of date: run python -m auditor.report.ruledoc --write\n")
            return 1
    elif not args:
        sys.stdout.write(text)
    else:
        sys.stderr.write("usage: python -m auditor.report.ruledoc [--write | --check]\n")
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
