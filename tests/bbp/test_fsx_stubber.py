"""FSx DescribeDataRepositoryAssociations (not in moto) with botocore's Stubber: success, pagination and a
failure that makes only that attribute unknown."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from auditor.collect import fsx
from auditor.collect.base import CollectContext
from auditor.collect.plan import Plan
from auditor.snapshot import is_unknown
from tests.collect.helpers import REGION, config

FS = {"FileSystemId": "fs-0123456789abcdef0", "FileSystemType": "LUSTRE", "Lifecycle": "AVAILABLE",
      "VpcId": "vpc-0123456789abcdef0", "SubnetIds": ["subnet-0123456789abcdef0"], "KmsKeyId": "arn:aws:kms:k",
      "ResourceARN": "arn:aws:fsx:eu-west-1:111122223333:file-system/fs-0123456789abcdef0",
      "LustreConfiguration": {"DeploymentType": "PERSISTENT_2"}, "Tags": [{"Key": "Name", "Value": "scratch"}]}
ONTAP = {"FileSystemId": "fs-0fedcba9876543210", "FileSystemType": "ONTAP"}
FILTER = {"Filters": [{"Name": "file-system-id", "Values": ["fs-0123456789abcdef0"]}]}


def association(aid: str, path: str, repo: str) -> dict[str, Any]:
    return {"AssociationId": aid, "FileSystemId": "fs-0123456789abcdef0", "FileSystemPath": path,
            "DataRepositoryPath": repo, "Lifecycle": "AVAILABLE",
            "S3": {"AutoImportPolicy": {"Events": ["NEW"]}}}


def collect(stub: Any) -> CollectContext:
    client = boto3.client("fsx", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    stubber = Stubber(client)
    stub(stubber)
    types = frozenset(fsx.RESOURCE_TYPES)
    with stubber, ThreadPoolExecutor(2) as pool:
        ctx = CollectContext(collector="fsx", calls={c.key: c for c in fsx.CALLS},
                             client_factory=lambda service, region: client, region=REGION, account="111122223333",
                             config=config(), plan=Plan(types=types, selectors=dict.fromkeys(types)), pool=pool)
        fsx.collect(ctx)
        stubber.assert_no_pending_responses()
    return ctx


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)


def test_associations_across_pages() -> None:
    def stub(s: Stubber) -> None:
        s.add_response("describe_file_systems", {"FileSystems": [FS, ONTAP]})
        s.add_response("describe_data_repository_associations",
                       {"Associations": [association("dra-0a1b2c3d4e5f60001", "/project/public", "s3://public-data/")],
                        "NextToken": "t"}, FILTER)
        s.add_response("describe_data_repository_associations",
                       {"Associations": [association("dra-0a1b2c3d4e5f60002", "/project/private", "s3://private-data/p1/")]},
                       {**FILTER, "NextToken": "t"})

    ctx = collect(stub)
    found = {r.id: r.attributes for r in ctx.resources}
    assert ctx.errors == []
    dras = found["fs-0123456789abcdef0"]["data_repository_associations"]
    assert [(d["association_id"], d["bucket"], d["auto_import_events"]) for d in dras] == [
        ("dra-0a1b2c3d4e5f60001", "public-data", ["NEW"]), ("dra-0a1b2c3d4e5f60002", "private-data", ["NEW"])]
    assert found["fs-0fedcba9876543210"]["data_repository_associations"] == []  # not Lustre: no call made
    assert found["fs-0123456789abcdef0"]["name"] == "scratch"


def test_a_failed_association_call_is_an_error_on_that_attribute_only() -> None:
    def stub(s: Stubber) -> None:
        s.add_response("describe_file_systems", {"FileSystems": [FS]})
        s.add_client_error("describe_data_repository_associations", "AccessDeniedException", "no", 400,
                           expected_params=FILTER)

    ctx = collect(stub)
    (resource,) = ctx.resources
    assert is_unknown(resource.attributes["data_repository_associations"])
    assert resource.attributes["deployment_type"] == "PERSISTENT_2"
    (error,) = ctx.errors
    assert (error.resource_id, error.attribute, error.operation, error.code) == (
        "fs-0123456789abcdef0", "data_repository_associations", "fsx:DescribeDataRepositoryAssociations",
        "AccessDeniedException")


def test_a_failed_listing_is_a_type_error() -> None:
    def stub(s: Stubber) -> None:
        s.add_client_error("describe_file_systems", "AccessDeniedException", "no", 400)

    ctx = collect(stub)
    assert ctx.resources == []
    (error,) = ctx.errors
    assert error.resource_id is None and error.operation == "fsx:DescribeFileSystems"


def test_a_repeated_next_token_ends_as_an_error_not_a_loop() -> None:
    # Found by the shape fuzz (tests/shapes): an answer that always carries the same NextToken made this
    # hand-written pagination (the operation has no botocore paginator) loop for good.
    def stub(s: Stubber) -> None:
        s.add_response("describe_file_systems", {"FileSystems": [FS]})
        page = {"Associations": [association("dra-0a1b2c3d4e5f60001", "/p", "s3://public-data/")], "NextToken": "0"}
        s.add_response("describe_data_repository_associations", page, FILTER)
        s.add_response("describe_data_repository_associations", page, {**FILTER, "NextToken": "0"})

    ctx = collect(stub)
    (resource,) = ctx.resources
    assert is_unknown(resource.attributes["data_repository_associations"])
    (error,) = ctx.errors
    assert (error.operation, error.code) == ("fsx:DescribeDataRepositoryAssociations", "PaginationError")
