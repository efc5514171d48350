"""KMS checks: automatic rotation of customer-managed keys."""

from __future__ import annotations

from collections.abc import Iterator

from iam_audit.checks.base import Result, Severity, Snapshot, Status, check
from iam_audit.checks.common import as_dict, resource_result, text, unread_result

DOC_ROTATION = "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html"


@check(
    id="kms.rotation",
    title="Customer-managed keys rotate automatically",
    service="KMS",
    scope="resource",
    severity=Severity.HIGH,
    description="An enabled, customer-managed symmetric KMS key with AWS-generated key material does not have "
    "automatic rotation on. AWS-managed, asymmetric, HMAC, imported-material and disabled keys do not apply.",
    risk="A key in use for years protects ever more data with the same material; rotation limits what one exposure reveals.",
    remediation=(
        "1. aws kms enable-key-rotation --key-id <key-id> (optionally --rotation-period-in-days 365)\n"
        "Console: KMS > Customer managed keys > <key> > Key rotation > Automatically rotate this KMS key every year."
    ),
    references=("CIS 3.6", DOC_ROTATION),
    requires=("kms:key",),
)
def rotation(snap: Snapshot) -> Iterator[Result]:
    for key in sorted(snap.of("kms:key"), key=lambda i: i.arn):
        if (unread := unread_result(key, ("KeyMetadata", "RotationEnabled"))) is not None:
            yield unread
            continue
        data = as_dict(key.data)
        aliases = data.get("Aliases")
        name = (text(aliases[0], 100) if isinstance(aliases, list) and aliases else "") or key.resource_id
        manager = str(data.get("KeyManager", "")).upper()
        state = str(data.get("KeyState", "")).lower()
        spec = str(data.get("KeySpec", data.get("CustomerMasterKeySpec", "SYMMETRIC_DEFAULT"))).upper()
        origin = str(data.get("Origin", "AWS_KMS")).upper()
        evidence = {
            "KeyManager": manager,
            "KeyState": state,
            "KeySpec": spec,
            "Origin": origin,
            "RotationEnabled": data.get("RotationEnabled"),
        }
        if manager != "CUSTOMER" or state != "enabled" or spec != "SYMMETRIC_DEFAULT" or origin != "AWS_KMS":
            yield resource_result(
                key, Status.NOT_APPLICABLE, f"Key {name} cannot or need not rotate automatically", evidence
            )
        elif data.get("RotationEnabled") is True:
            yield resource_result(key, Status.PASS, f"Key {name} rotates automatically", evidence)
        elif data.get("RotationEnabled") is None:
            yield resource_result(key, Status.UNKNOWN, f"Rotation state of key {name} not recorded", evidence)
        else:
            yield resource_result(key, Status.FAIL, f"Key {name} does not rotate", evidence)
