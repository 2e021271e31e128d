"""A moto account seeded with the CCME environment, a report bucket, an SNS topic read through SQS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from auditor.demo.account import SeededAccount, seed_ccme_account
from tests.collect.helpers import REGION, moto_account

REPORT_BUCKET = "ccme-audit-reports-test"


def nested(overrides: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dotted, value in overrides:
        node = out
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


@dataclass
class LambdaWorld:
    session: boto3.Session
    seeded: SeededAccount
    env: dict[str, str]
    queue_url: str
    kms_key: str

    def messages(self) -> list[dict[str, Any]]:
        """SNS notifications delivered to the subscribed queue since the last call."""
        sqs = self.session.client("sqs")
        out = []
        while True:
            got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return out
            for item in got:
                out.append(json.loads(item["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=item["ReceiptHandle"])


@pytest.fixture
def world() -> Iterator[LambdaWorld]:
    with moto_account() as session:
        seeded = seed_ccme_account(session, REGION, faults=True)
        kms = session.client("kms")
        key = kms.create_key(Description="reports")["KeyMetadata"]["KeyId"]
        s3 = session.client("s3")
        s3.create_bucket(Bucket=REPORT_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=REPORT_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        topic = session.client("sns").create_topic(Name="ccme-audit")["TopicArn"]
        sqs = session.client("sqs")
        queue_url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        session.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        env = {
            "CCME_AUDIT_CONFIG_JSON": json.dumps(nested(seeded.config_overrides())),
            "REPORT_BUCKET": REPORT_BUCKET,
            "REPORT_PREFIX": "audits",
            "REPORT_SSE": "aws:kms",
            "REPORT_KMS_KEY_ID": key,
            "SNS_TOPIC_ARN": topic,
            "PACKS": "ccme",
        }
        yield LambdaWorld(session=session, seeded=seeded, env=env, queue_url=queue_url, kms_key=key)
