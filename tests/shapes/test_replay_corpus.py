"""Replay of a small corpus of AWS answers with asserted verdicts (tests/data/replay/*.json).

Each file is one coherent account state as AWS answers it: per operation ("service:Operation"),
the parsed response pages in botocore's parsed form (the shape of the AWS API reference and of
recorded answers such as Cloud Custodian's placebo data; written for this project's configured
names, never copied), an error {"code", "status"}, or answers that depend on the request
("by_request": the first entry whose "params" are all in the call answers, e.g. one bucket's
versioning). Timestamps are ISO strings, turned into datetimes on load where the output shape says
timestamp. Every other operation answers an empty success ("default": "empty"), so the rules the
file does not speak to are simply not selected, SKIPPED or FAIL on a missing resource.

"decides" lists rule-id prefixes: every finding of a rule whose id starts with one of them is in
"expect" ({rule_id: {resource_id: STATUS}}), and "expect" is asserted exactly. A verdict here is
judged against the rule's intent (policies/, seed 000), never adjusted to what the tool says.

Command: python -m pytest tests/shapes/test_replay_corpus.py
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from botocore.model import Shape
from botocore.validate import ParamValidator

from auditor.engine.evaluate import Evaluation
from tests.shapes.harness import (
    OPERATIONS,
    Answer,
    ByRequest,
    Error,
    Pages,
    Run,
    World,
    fake_credentials,
    none_exist,
    operation_model,
    paginator,
    validated,
)

CORPUS = Path(__file__).resolve().parents[1] / "data" / "replay"
FILES = sorted(CORPUS.glob("*.json"))
STATUSES = {"PASS", "FAIL", "ERROR", "SKIPPED"}


# --- loading ----------------------------------------------------------------------------------------

def _timestamps(value: Any, shape: Shape | None) -> Any:
    """The page with every member the output shape types as timestamp parsed from its ISO string."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: _timestamps(v, members.get(k)) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_timestamps(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _timestamps(v, shape.value) for k, v in value.items()}
    if kind == "timestamp" and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def _answer(key: str, doc: Mapping[str, Any]) -> Pages | Error:
    if "error" in doc:
        return Error(str(doc["error"]["code"]), int(doc["error"]["status"]), "replayed from the corpus")
    shape = operation_model(key).output_shape
    return Pages(tuple(_timestamps(page, shape) for page in doc["pages"]))


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def scenario(doc: Mapping[str, Any]) -> dict[str, Answer]:
    out: dict[str, Answer] = {}
    for key, answer in doc["answers"].items():
        if "by_request" in answer:
            out[key] = ByRequest(tuple((dict(e["params"]), _answer(key, e)) for e in answer["by_request"]))
        else:
            out[key] = _answer(key, answer)
    return out


def _empty(key: str) -> Answer:
    return none_exist(key)


DEFAULTS = {"empty": _empty}


def findings(evaluation: Evaluation) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for f in evaluation.findings:
        out.setdefault(f.rule_id, {})[f.resource_id] = f.status.value
    return out


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with fake_credentials():
        yield World()


def replay(world: World, doc: Mapping[str, Any]) -> tuple[Run, Evaluation]:
    run = world.run(scenario(doc), default=DEFAULTS[doc["default"]])
    return run, world.evaluate(validated(run.snapshot))


# --- the verdicts ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_replayed_verdicts(world: World, path: Path) -> None:
    doc = load(path)
    run, evaluation = replay(world, doc)
    assert not run.crashed, [e.message for e in run.crashed]
    assert not run.served.unanswered, f"calls the scenario has no answer for: {run.served.unanswered}"
    assert not [f for f in evaluation.findings if "the rule crashed" in f.message]
    got = findings(evaluation)
    decided = {rule: verdicts for rule, verdicts in got.items() if rule.startswith(tuple(doc["decides"]))}
    assert decided == doc["expect"], _diff(decided, doc["expect"])
    # ERROR only where the file says: a documented answer is never a failed collection elsewhere
    errors = {(r, i) for r, verdicts in got.items() for i, s in verdicts.items() if s == "ERROR"}
    expected_errors = {(r, i) for r, verdicts in doc["expect"].items() for i, s in verdicts.items() if s == "ERROR"}
    assert errors == expected_errors
    # every page of every listing answered is read
    for key, answer in scenario(doc).items():
        if isinstance(answer, Pages) and paginator(key):
            assert run.served.pages.get(key, set()) >= set(range(len(answer.pages))), key


def _diff(got: Mapping[str, Mapping[str, str]], want: Mapping[str, Mapping[str, str]]) -> str:
    lines = []
    for rule in sorted(set(got) | set(want)):
        if got.get(rule) != want.get(rule):
            lines.append(f"{rule}: got {got.get(rule)} want {want.get(rule)}")
    return "\n".join(lines)


# --- the corpus itself ----------------------------------------------------------------------------------

def test_corpus_has_a_handful_of_scenarios() -> None:
    assert 4 <= len(FILES) <= 8, [p.name for p in FILES]


def _pages(doc: Mapping[str, Any]) -> Iterator[tuple[str, int, Mapping[str, Any], Mapping[str, Any]]]:
    for key, answer in doc["answers"].items():
        for entry in answer.get("by_request", [answer]):
            for index, page in enumerate(entry.get("pages", [])):
                yield key, index, page, entry


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario_file_is_well_formed(path: Path) -> None:
    doc = load(path)
    assert set(doc) == {"description", "source", "decides", "default", "answers", "expect"}, sorted(doc)
    assert isinstance(doc["description"], str) and doc["description"]
    assert isinstance(doc["source"], list) and doc["source"] and all(isinstance(s, str) and s for s in doc["source"])
    assert doc["default"] in DEFAULTS
    assert doc["decides"] and all(isinstance(p, str) and p for p in doc["decides"])
    statuses = {s for verdicts in doc["expect"].values() for s in verdicts.values()}
    assert statuses <= STATUSES, statuses
    assert "PASS" in statuses and statuses & {"FAIL", "ERROR"}, "a scenario asserts a PASS and a FAIL or ERROR"
    for rule in doc["expect"]:
        assert rule.startswith(tuple(doc["decides"])), f"{rule} is outside what the file decides"
    for key, answer in doc["answers"].items():
        assert key in OPERATIONS, f"{key} is not an operation the collectors call"
        for entry in answer.get("by_request", [answer]):
            assert ("pages" in entry) != ("error" in entry), (key, entry)
            if "error" in entry:
                assert set(entry["error"]) == {"code", "status"}, (key, entry)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_page_follows_the_model(path: Path) -> None:
    """Each page validates against the operation's output shape in the installed botocore (timestamps
    parsed), and a page followed by another carries the paginator's output token the harness serves."""
    doc = load(path)
    for key, index, page, entry in _pages(doc):
        shape = operation_model(key).output_shape
        parsed = _timestamps(page, shape)
        if shape is not None:
            report = ParamValidator().validate(dict(parsed), shape)
            assert not report.has_errors(), f"{key} page {index}: {report.generate_report()}"
        paging = paginator(key)
        count = len(entry["pages"])
        if paging:
            token = paging["output_token"]
            first = token if isinstance(token, str) else token[0]
            assert page.get(first) == (f"token-{index + 1}" if index < count - 1 else None), (key, index)
        else:
            assert count == 1, f"{key} has no paginator: one page"


def test_timestamps_become_datetimes() -> None:
    doc = load(CORPUS / "kms-keys.json")
    answers = scenario(doc)
    described = answers["kms:DescribeKey"]
    assert isinstance(described, ByRequest)
    page = described.entries[0][1]
    assert isinstance(page, Pages)
    assert isinstance(page.pages[0]["KeyMetadata"]["CreationDate"], dt.datetime)
