"""The catalogue of security checks (pure functions over an account :class:`~iam_audit.checks.base.Snapshot`).

Importing this package registers every check module; :func:`~iam_audit.checks.base.all_checks`
returns them. Helpers others may reuse: :mod:`iam_audit.policy` (policy documents),
:mod:`iam_audit.checks.network` (security-group / NACL rules), :mod:`iam_audit.checks.principals`
(the IAM principals of one account with their statements).
"""

from __future__ import annotations

from iam_audit.checks import (  # noqa: F401  (each import registers its checks)
    baseline,
    cloudtrail,
    detection,
    ec2,
    iam,
    iam_policies,
    iam_trust,
    iam_users,
    kms,
    org,
    rds,
    resource_policies,
    s3,
    vpc,
)
from iam_audit.checks.baseline import BASELINE_ITEMS, BASELINE_OFF_BY_DEFAULT, baseline_checks

# Checks that read only AccountFacts / OrgContext (no resource types), whose completeness the engine
# owns; every other check declares the resource types it reads.
CONTEXT_ONLY_CHECKS = frozenset({"org.member", "org.scp_guardrails", "org.account_outside_ou"})

__all__ = ["BASELINE_ITEMS", "BASELINE_OFF_BY_DEFAULT", "CONTEXT_ONLY_CHECKS", "baseline_checks"]
