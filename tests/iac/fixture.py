"""Build tests/fixtures/snapshots/parallelcluster.json from the example cluster configurations, and
tests/fixtures/snapshots/ccme-deployment.json from the deployment configurations in tests/fixtures/ccme-deployment.

    python -m tests.iac.fixture

The rule-fixture meta-test (tests/test_rule_fixtures.py) reads it with
tests/fixtures/expectations/parallelcluster.yaml.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from auditor.iac import load_paths
from auditor.snapshot import Snapshot

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "snapshots" / "parallelcluster.json"


def build() -> Snapshot:
    cwd = Path.cwd()
    os.chdir(ROOT)  # relative paths: stable resource ids
    try:
        loaded = load_paths([Path("examples/parallelcluster")], region="eu-west-1", account="111122223333")
    finally:
        os.chdir(cwd)
    resources = list(loaded.snapshot.resources)
    good = next(r for r in resources if r.name == "cluster-good")
    bad = next(r for r in resources if r.name == "cluster-bad")
    # The network join, as it comes out of a run with the network template: isolated subnets.
    isolated = {**good.attributes, "name": "cluster-isolated", "internet_access": False}
    resources[resources.index(good)] = dataclasses.replace(
        good, attributes={**good.attributes, "internet_access": False})
    resources.append(dataclasses.replace(good, id="fixture#cluster-isolated-no-dns", name="cluster-isolated-no-dns",
                                         attributes={**isolated, "name": "cluster-isolated-no-dns",
                                                     "dns": {"disable_managed_dns": False,
                                                             "use_ec2_hostnames": False}}))
    resources.append(dataclasses.replace(bad, id="fixture#cluster-public", name="cluster-public",
                                         attributes={**bad.attributes, "name": "cluster-public",
                                                     "internet_access": True}))
    return dataclasses.replace(loaded.snapshot, resources=tuple(resources), paths=("examples/parallelcluster",))


DEPLOYMENT_OUT = ROOT / "tests" / "fixtures" / "snapshots" / "ccme-deployment.json"


def build_deployment() -> Snapshot:
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        loaded = load_paths([Path("tests/fixtures/ccme-deployment")], region="eu-west-1", account="111122223333")
    finally:
        os.chdir(cwd)
    return loaded.snapshot


if __name__ == "__main__":
    build().dump(OUT)
    build_deployment().dump(DEPLOYMENT_OUT)
