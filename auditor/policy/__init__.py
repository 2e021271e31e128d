"""Pure evaluator for AWS resource policies (S3 bucket, KMS key, VPC endpoint).

No I/O and no AWS calls: parse a document with :func:`parse_policy`, decide one
request with :func:`decide`, or run a quantified requirement from
:data:`REQUIREMENTS` with :func:`check_document`.
"""

from auditor.policy.evaluate import Decision, Principal, Request, StatementRef, decide
from auditor.policy.model import Condition, Policy, PolicyError, PrincipalSpec, Statement, parse_policy
from auditor.policy.requirements import (
    REQUIREMENTS,
    Requirement,
    RequirementContext,
    RequirementResult,
    check_document,
)

__all__ = [
    "REQUIREMENTS",
    "Condition",
    "Decision",
    "Policy",
    "PolicyError",
    "Principal",
    "PrincipalSpec",
    "Request",
    "Requirement",
    "RequirementContext",
    "RequirementResult",
    "Statement",
    "StatementRef",
    "check_document",
    "decide",
    "parse_policy",
]
