"""CloudFormation templates (YAML with short-form intrinsics, or JSON) into canonical resources.

Parsing is auditor.iac.cfn_decode (libyaml with CloudFormation's short-form tags, or JSON; lines kept). Intrinsics are
resolved here: Ref, GetAtt, Sub, Join, Select, Split, If with Conditions, FindInMap, Base64,
parameters (defaults, `--param` overrides) and pseudo parameters (AWS::Region from the audit
configuration, AWS::AccountId from it when set). Whatever cannot be resolved becomes
unknown(reason) and turns the rules reading it into ERROR.

The data flows one way: template (recognise, decode) -> intrinsics (values, conditions) -> names ->
mapping and provisioner (canonical resources) -> load (a template and the nested stacks it follows) -> joins.
"""

from __future__ import annotations

from auditor.iac.cloudformation.intrinsics import Resolver
from auditor.iac.cloudformation.load import load
from auditor.iac.cloudformation.template import (
    KNOWN_INTRINSICS,
    NESTED_STACK_TYPES,
    decode,
    is_cloudformation,
    unknown_intrinsic,
)

__all__ = ["KNOWN_INTRINSICS", "NESTED_STACK_TYPES", "Resolver", "decode", "is_cloudformation", "load",
           "unknown_intrinsic"]
