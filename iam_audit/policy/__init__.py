"""The IAM policy engine: one model, one matcher, one evaluator. Pure Python, no Django, no AWS.

Used by the checks (:mod:`iam_audit.checks`), the access graph (:mod:`iam_audit.graph`) and the
least-privilege proof of the read role.

* :mod:`~iam_audit.policy.model`: documents in any shape IAM (or a stored export) gives them, parsed
  into :class:`PolicyDoc` / :class:`Statement` (with action and resource matching);
* :mod:`~iam_audit.policy.match`: IAM wildcards (``*``, ``?``; actions case-insensitive, resources
  not) and policy variables (a variable matches any value only where it cannot be resolved);
* :mod:`~iam_audit.policy.conditions`: conditions decided, worded as requirements, or judged as
  limiting who may use a statement;
* :mod:`~iam_audit.policy.evaluate`: allow/deny evaluation of a set of statements for one request;
* :mod:`~iam_audit.policy.grants`: what a statement grants, in the checks' words (public grants,
  other accounts, full admin).
"""

from __future__ import annotations

from iam_audit.policy.conditions import Requirement
from iam_audit.policy.evaluate import Evaluation, Match, evaluate
from iam_audit.policy.model import (
    ALL_RESOURCES,
    ALLOW,
    DENY,
    Condition,
    PolicyDoc,
    PrincipalRef,
    Principals,
    Statement,
    account_of,
    parse_policy,
    statements,
)

__all__ = [
    "ALLOW",
    "ALL_RESOURCES",
    "DENY",
    "Condition",
    "Evaluation",
    "Match",
    "PolicyDoc",
    "PrincipalRef",
    "Principals",
    "Requirement",
    "Statement",
    "account_of",
    "evaluate",
    "parse_policy",
    "statements",
]
