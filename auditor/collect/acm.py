"""ACM: acm.certificate from ListCertificates (every key type), DescribeCertificate for selected ones."""

from __future__ import annotations

from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, iam_actions

RESOURCE_TYPES = ("acm.certificate",)
REGIONAL = True
CALLS = (
    Call("acm", "ListCertificates", "acm:ListCertificates"),
    Call("acm", "DescribeCertificate", "acm:DescribeCertificate"),
)
IAM_ACTIONS = iam_actions(CALLS)
# Attributes every resource gets from the list calls alone (all but in_use_by).
LISTED = {
    "acm.certificate": {
        "arn",
        "domain_name",
        "subject_alternative_names",
        "status",
        "cert_type",
        "key_algorithm",
        "not_after",
    }
}
# By default ListCertificates returns RSA_2048 certificates only: ask for every key type.
KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def collect(ctx: CollectContext) -> None:
    summaries = ctx.paginate("acm", "ListCertificates", "CertificateSummaryList", Includes={"keyTypes": KEY_TYPES})
    if isinstance(summaries, Failed):
        ctx.type_error("acm.certificate", summaries)
        return
    chosen = []
    for summary in summaries:
        arn = str(summary["CertificateArn"])
        attributes: dict[str, Any] = {
            "arn": arn,
            "domain_name": summary.get("DomainName"),
            "subject_alternative_names": list(summary.get("SubjectAlternativeNameSummaries") or []),
            "status": summary.get("Status"),
            "cert_type": summary.get("Type"),
            "key_algorithm": summary.get("KeyAlgorithm"),
            "not_after": _iso(summary.get("NotAfter")),
        }
        if ctx.plan.selected("acm.certificate", {"arn": arn, "domain_name": summary.get("DomainName")}):
            chosen.append(attributes)
        else:
            if summary.get("InUse") is False:
                attributes["in_use_by"] = []
            ctx.add("acm.certificate", arn, attributes, name=summary.get("DomainName"))
    ctx.map(lambda a: _describe(ctx, a), chosen)


def _describe(ctx: CollectContext, attributes: dict[str, Any]) -> None:
    arn = attributes["arn"]
    answer = ctx.call("acm", "DescribeCertificate", CertificateArn=arn)
    if isinstance(answer, Failed):
        attributes["in_use_by"] = ctx.attribute_error("acm.certificate", arn, "in_use_by", answer)
    else:
        cert = (answer or {}).get("Certificate") or {}
        attributes.update(
            {
                "domain_name": cert.get("DomainName", attributes["domain_name"]),
                "subject_alternative_names": list(cert.get("SubjectAlternativeNames") or []),
                "status": cert.get("Status", attributes["status"]),
                "cert_type": cert.get("Type"),
                "key_algorithm": cert.get("KeyAlgorithm"),
                "not_after": _iso(cert.get("NotAfter")),
                "in_use_by": list(cert.get("InUseBy") or []),
            }
        )
    ctx.add("acm.certificate", arn, attributes, name=attributes.get("domain_name"))
