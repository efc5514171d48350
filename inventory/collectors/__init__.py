"""Collectors, one module per AWS service. Importing the package registers every collector.

The collector contract is in :mod:`inventory.collectors.base`; what collectors yield in
:mod:`inventory.records`; the record shapes in :mod:`inventory.resource_types`.
"""

from __future__ import annotations

from inventory.collectors import (  # noqa: F401  (imported to register)
    accessanalyzer,
    awslambda,
    cloudtrail,
    cloudwatch,
    configservice,
    dynamodb,
    ec2,
    ecr,
    eks,
    elb,
    elbv2,
    guardduty,
    iam,
    kms,
    logs,
    organizations,
    rds,
    s3,
    secretsmanager,
    securityhub,
    sns,
    sqs,
)
