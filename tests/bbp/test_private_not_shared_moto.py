"""BBP-FSX-PRIVATE-NOT-SHARED on the moto provisioner account (FSx associations answered by the demo's Stubber,
as moto lacks them): a second Project's cluster whose /project/private is its own prefix passes with the first;
one mounting the first Project's prefix makes both fail."""

from __future__ import annotations

from typing import Any

from auditor.app.pipeline import evaluate
from auditor.demo.bbp import seed_bbp_account, stub_associations
from auditor.engine.rules import load_rules
from tests.collect.helpers import REGION, config, moto_account, run_scan

RULE = "BBP-FSX-PRIVATE-NOT-SHARED"


def _association(aid: str, fs_id: str, mount: str, path: str) -> dict[str, Any]:
    return {"AssociationId": aid, "FileSystemId": fs_id, "Lifecycle": "AVAILABLE", "FileSystemPath": mount,
            "DataRepositoryPath": path}


def test_a_second_project_on_its_own_prefix_passes_on_the_first_projects_fails() -> None:
    with moto_account() as session:
        acct = seed_bbp_account(session, REGION, faults=False)
        cfg = config(dict(acct.config_overrides()))
        rules = [r for r in load_rules(None, ["bbp"]) if r.id == RULE]
        fsx = session.client("fsx", region_name=REGION)
        first = next(a for a in acct.associations if a["FileSystemPath"].rstrip("/") == "/project/private")
        other = fsx.create_file_system(
            FileSystemType="LUSTRE", StorageCapacity=1200,
            SubnetIds=[fsx.describe_file_systems()["FileSystems"][0]["SubnetIds"][0]],
            LustreConfiguration={"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 250},
        )["FileSystem"]["FileSystemId"]
        bucket = first["DataRepositoryPath"].split("/")[2]

        def statuses(private_path: str) -> dict[str, str]:
            associations = [*acct.associations,
                            _association("dra-0other000000000001", other, "/project/private", private_path)]
            result = run_scan(session, cfg, rules, client_hooks=[stub_associations(associations)])
            return {f.resource_id: f.status.value for f in evaluate(result.snapshot, rules, cfg).findings}

        own = statuses(f"s3://{bucket}/another-project/")
        shared = statuses(first["DataRepositoryPath"])
    assert own == {acct.fsx_id: "PASS", other: "PASS"}, own
    assert shared == {acct.fsx_id: "FAIL", other: "FAIL"}, shared
