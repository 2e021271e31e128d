"""The CCME Management Host -> ec2.management_host: its instance (ec2:DescribeInstances, by the instance id or
the Name tag the configuration gives as `management_host`) and the operating system of its AMI
(ec2:DescribeImages), for seed 000's "The CCME Management Host supports the following OS (management_host_os
parameter of deployment configuration file)": al2023 on x86_64 and aarch64, rhel8 and rhel9 on x86_64.

The OS is read from the AMI's name and description (the names AWS and Red Hat publish: `al2023-ami-...`,
`RHEL-9...`): an AMI whose name tells no known OS leaves `os` unknown (the rule is then ERROR, never a guess);
a recognisably other OS (Amazon Linux 2, Ubuntu, ...) is `other`. Without `management_host` nothing is
collected and the rule says how to name the host (SKIPPED).
"""

from __future__ import annotations

import re
from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, iam_actions
from auditor.snapshot import unknown

RESOURCE_TYPES = ("ec2.management_host",)
REGIONAL = True
CALLS = (
    Call("ec2", "DescribeInstances", "ec2:DescribeInstances"),
    Call("ec2", "DescribeImages", "ec2:DescribeImages"),
)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {"ec2.management_host": {"*"}}

# (os, pattern over the AMI's name and description, lower case); the first match wins.
_OS = (
    ("al2023", re.compile(r"\bal2023\b|amazon linux 2023")),
    ("rhel9", re.compile(r"\brhel-?9(\b|[._-])|red hat enterprise linux 9")),
    ("rhel8", re.compile(r"\brhel-?8(\b|[._-])|red hat enterprise linux 8")),
    ("other", re.compile(r"\bamzn2\b|amazon linux 2\b|\bamzn-ami\b|ubuntu|debian|centos|rocky|suse|windows|"
                         r"\brhel-?7(\b|[._-])|red hat enterprise linux 7")),
)


def os_of(name: Any, description: Any) -> str | None:
    """al2023, rhel8, rhel9, other (a recognisable unsupported OS), or None (not told by the AMI's name)."""
    text = f"{name or ''} {description or ''}".lower()
    for os_name, pattern in _OS:
        if pattern.search(text):
            return os_name
    return None


def collect(ctx: CollectContext) -> None:
    wanted = ctx.config.data.get("management_host")
    if not wanted:
        return
    wanted = str(wanted)
    query: dict[str, Any] = {"InstanceIds": [wanted]} if wanted.startswith("i-") else {
        "Filters": [{"Name": "tag:Name", "Values": [wanted]}]}
    reservations = ctx.paginate("ec2", "DescribeInstances", "Reservations", **query)
    if isinstance(reservations, Failed):
        ctx.type_error("ec2.management_host", reservations)
        return
    for reservation in reservations:
        for instance in reservation.get("Instances") or []:
            if (instance.get("State") or {}).get("Name") in ("terminated", "shutting-down"):
                continue
            if not instance.get("InstanceId"):
                ctx.type_error("ec2.management_host", Failed(
                    "MalformedAnswer", "InstanceId missing from the ec2:DescribeInstances answer",
                    "ec2:DescribeInstances"))
                continue
            _host(ctx, instance)


def _host(ctx: CollectContext, instance: dict[str, Any]) -> None:
    iid = str(instance["InstanceId"])
    tags = {str(t.get("Key")): str(t.get("Value")) for t in instance.get("Tags") or []}
    image_id = instance.get("ImageId")
    attributes: dict[str, Any] = {
        "instance_id": iid, "instance_type": instance.get("InstanceType"),
        "architecture": instance.get("Architecture"), "image_id": image_id,
        "image_name": None, "image_description": None, "platform_details": instance.get("PlatformDetails"),
        # The management_host_os of the CCME deployment configuration file, when the configuration gives it.
        "deployment_os": ctx.config.data.get("management_host_os"),
    }
    # Paginated like any listing (every page read, or a collection error): the image is the one of that id.
    answer = ctx.paginate("ec2", "DescribeImages", "Images", ImageIds=[image_id]) if image_id else None
    images = ([i for i in answer if isinstance(i, dict) and i.get("ImageId") == image_id]
              if isinstance(answer, list) else None)
    if isinstance(answer, Failed):
        for key in ("image_name", "image_description", "os"):
            attributes[key] = ctx.attribute_error("ec2.management_host", iid, key, answer)
    elif not images:
        reason = f"the AMI {image_id} of {iid} cannot be described (deregistered, or shared and since withdrawn)"
        attributes["os"] = unknown(reason)
    else:
        image = images[0]
        attributes["image_name"] = image.get("Name")
        attributes["image_description"] = image.get("Description")
        found = os_of(image.get("Name"), image.get("Description"))
        attributes["os"] = found if found else unknown(
            f"the name of AMI {image_id} ({image.get('Name')!r}) tells no operating system; check it by hand "
            "(CCME supports al2023, rhel8, rhel9) and waive this finding")
    ctx.add("ec2.management_host", iid, attributes, name=tags.get("Name") or iid)
