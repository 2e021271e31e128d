"""Which accounts to scan: an accounts file, or the organization's active accounts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.fileio import load_document

ACCOUNT_ID = re.compile(r"^\d{12}$")
ROLE_NAME = re.compile(r"^[\w+=,.@/-]{1,512}$")
FILE_FIX = ("write a YAML/JSON list of 12-digit account ids (quoted), or of mappings "
            "{account: '123456789012', name: ..., role_name: ..., external_id: ...}, optionally under 'accounts:'")


@dataclass(frozen=True)
class Target:
    account: str
    name: str | None = None
    role_name: str | None = None  # overrides --role-name for this account
    external_id: str | None = None  # overrides --external-id for this account


def check_role_name(value: str, *, place: str, file: str | None = None) -> str:
    if not ROLE_NAME.match(value):
        raise InputError(f"'{value}' is not an IAM role name", file=file, place=place,
                         fix="name the role (letters, digits and +=,.@_-/), not its ARN")
    return value


def _account(value: Any, *, file: str, place: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(f"account {value!r} is not an account id", file=file, place=place, fix=FILE_FIX)
    text = str(value)
    if isinstance(value, int) and len(text) != 12:
        raise InputError(f"account {value} read as a number lost its leading zeros", file=file, place=place,
                         fix="quote account ids: '012345678901'")
    if not ACCOUNT_ID.match(text):
        raise InputError(f"'{text}' is not a 12-digit account id", file=file, place=place, fix=FILE_FIX)
    return text


def parse_targets(data: Any, *, file: str) -> list[Target]:
    """Targets from a parsed accounts document (see FILE_FIX); duplicates are an error."""
    if isinstance(data, Mapping) and set(data) == {"accounts"}:
        data, root = data["accounts"], "/accounts"
    else:
        root = ""
    if not isinstance(data, list) or not data:
        raise InputError("expected a non-empty list of accounts", file=file, place=root or "/", fix=FILE_FIX)
    out: list[Target] = []
    seen: set[str] = set()
    for index, item in enumerate(data):
        place = f"{root}/{index}"
        if isinstance(item, Mapping):
            unknown = set(item) - {"account", "name", "role_name", "external_id"}
            if unknown or "account" not in item:
                what = f"unknown key(s) {', '.join(sorted(map(str, unknown)))}" if unknown else "no 'account' key"
                raise InputError(what, file=file, place=place, fix=FILE_FIX)
            for key in ("name", "role_name", "external_id"):
                if item.get(key) is not None and not isinstance(item[key], str):
                    raise InputError(f"'{key}' must be a string", file=file, place=f"{place}/{key}", fix=FILE_FIX)
            role = item.get("role_name")
            if role is not None:
                check_role_name(role, place=f"{place}/role_name", file=file)
            target = Target(account=_account(item["account"], file=file, place=f"{place}/account"),
                            name=item.get("name"), role_name=role, external_id=item.get("external_id"))
        else:
            target = Target(account=_account(item, file=file, place=place))
        if target.account in seen:
            raise InputError(f"account {target.account} is listed twice", file=file, place=place,
                             fix="list each account once")
        seen.add(target.account)
        out.append(target)
    return out


def load_targets(path: Path) -> list[Target]:
    return parse_targets(load_document(Path(path)), file=str(path))


def organization_targets(session: Any) -> tuple[list[Target], list[tuple[str, str]]]:
    """The organization's ACTIVE accounts, and the (account, status) of those skipped (suspended, closed...).

    Needs organizations:ListAccounts, from the management account or a delegated administrator.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    client = session.client("organizations")
    active: list[Target] = []
    skipped: list[tuple[str, str]] = []
    try:
        for page in client.get_paginator("list_accounts").paginate():
            for account in page.get("Accounts", []):
                # "State" replaces "Status" (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED); read either.
                state = str(account.get("State") or account.get("Status") or "UNKNOWN").upper()
                if state == "ACTIVE":
                    active.append(Target(account=str(account["Id"]), name=account.get("Name")))
                else:
                    skipped.append((str(account["Id"]), state))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise InputError(f"cannot list the organization's accounts: {error.get('Code')}: {error.get('Message')}",
                         place="organizations:ListAccounts",
                         fix="run from the management account or a delegated administrator, or pass --accounts FILE"
                         ) from None
    except BotoCoreError as exc:
        raise InputError(f"cannot list the organization's accounts: {exc}", place="organizations:ListAccounts",
                         fix="check the credentials and the network, or pass --accounts FILE") from None
    active.sort(key=lambda t: t.account)
    return active, sorted(skipped)


def parse_regions(values: Sequence[str] | None) -> list[str]:
    """Regions from repeated and/or comma-separated flags, in order, without duplicates."""
    out: list[str] = []
    for value in values or ():
        for part in value.split(","):
            name = part.strip()
            if not name:
                continue
            if not re.match(r"^[a-z]{2}(-[a-z]+)+-\d+$", name):
                raise InputError(f"'{name}' is not a region name", place="--regions",
                                 fix="write region codes such as eu-west-1,us-east-1")
            if name not in out:
                out.append(name)
    return out
