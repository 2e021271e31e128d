"""Check that the rendered package files sit in a directory or an S3 prefix; build packages.file resources."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.packages.render import RequiredFile
from auditor.snapshot import CollectionError, Resource, Snapshot

RTYPE = "packages.file"


@dataclass(frozen=True)
class Listing:
    """What a location holds: relative path -> size, or the failure that prevented listing it."""

    location: str
    sizes: dict[str, int]
    error: CollectionError | None = None


def parse_s3_url(target: str) -> tuple[str, str]:
    rest = target[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise InputError(f"'{target}' names no bucket", place="TARGET", fix="write s3://BUCKET/PREFIX")
    return bucket, prefix.strip("/")


def list_directory(root: Path, directories: Sequence[str]) -> Listing:
    if not root.is_dir():
        raise InputError("no such directory", file=str(root), place="TARGET",
                         fix="name the directory holding CCME/ and management/, or an s3://BUCKET/PREFIX")
    sizes: dict[str, int] = {}
    for directory in directories:
        base = root / directory
        if not base.is_dir():
            continue
        for item in base.iterdir():
            if item.is_file():
                sizes[f"{directory}/{item.name}"] = item.stat().st_size
    return Listing(location=str(root), sizes=sizes)


def list_s3(target: str, directories: Sequence[str], *, client: Any = None, profile: str | None = None) -> Listing:
    """ListObjectsV2 (paginated, read-only) under each directory of the prefix."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    bucket, prefix = parse_s3_url(target)
    if client is None:
        import boto3

        client = boto3.Session(profile_name=profile).client("s3")
    sizes: dict[str, int] = {}
    try:
        for directory in directories:
            key_prefix = f"{prefix}/{directory}/" if prefix else f"{directory}/"
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix):
                for obj in page.get("Contents") or []:
                    key = str(obj["Key"])
                    name = key[len(key_prefix):]
                    if name and "/" not in name:
                        sizes[f"{directory}/{name}"] = int(obj.get("Size") or 0)
    except NoCredentialsError:
        raise InputError("no AWS credentials", place="TARGET",
                         fix="configure credentials (AWS_PROFILE, --profile, or an instance role)") from None
    except (ClientError, BotoCoreError) as exc:
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code") or "ClientError")
            message = str(exc.response.get("Error", {}).get("Message") or "")
        else:
            code, message = type(exc).__name__, str(exc)
        error = CollectionError(resource_type=RTYPE, operation="s3:ListBucket", code=code,
                                message=" ".join(f"{target}: {message}".split())[:500])
        return Listing(location=target, sizes={}, error=error)
    return Listing(location=target, sizes=sizes)


def files_snapshot(required: Sequence[RequiredFile], listing: Listing) -> Snapshot:
    """packages.file resources: each required file, whether it is present, and its signature when paired."""
    resources = []
    if listing.error is None:
        for item in required:
            size = listing.sizes.get(item.path)
            attributes: dict[str, Any] = {
                "path": item.path, "directory": item.directory, "name": item.name, "list": item.list_id,
                "template": item.template, "arch": item.arch, "os": item.os, "present": size is not None,
                "size": size, "signature_required": item.signature_required,
                "signature_present": (f"{item.path}.sig" in listing.sizes) if item.signature_required else None,
            }
            resources.append(Resource(type=RTYPE, id=item.path, name=item.name, attributes=attributes))
    return Snapshot(
        kind="live", resources=tuple(resources), errors=(listing.error,) if listing.error else (),
        collected_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        paths=(listing.location,), options={"origin": "packages check"},
    )
