"""Error classification used everywhere AWS is called. No Django here.

Every failure is mapped to one :class:`ErrorKind` with a sentence a person understands, and to the
:class:`~inventory.collectors.base.Coverage` it means for collection.
"""

from __future__ import annotations

import dataclasses
import enum

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from inventory.collectors.base import Coverage


class ErrorKind(enum.StrEnum):
    ACCESS_DENIED = "access-denied"
    NOT_ENABLED = "not-enabled"  # service not enabled / not subscribed in this account or region
    NOT_IMPLEMENTED = "not-implemented"  # the endpoint does not implement the operation
    THROTTLED = "throttled"  # still throttled after retries
    NETWORK = "network"  # time-out, connection refused/closed
    INVALID_CREDENTIALS = "invalid-credentials"
    ROLE_MISSING = "role-missing"
    EXTERNAL_ID_MISMATCH = "external-id-mismatch"
    ABSENT = "absent"  # "there is none" answered as an error (NoSuchEntity for a password policy...)
    OTHER = "other"


_MESSAGES = {
    ErrorKind.ACCESS_DENIED: "Access denied: the read role is not allowed to call {op}.",
    ErrorKind.NOT_ENABLED: "The service is not enabled or not subscribed in this account/region.",
    ErrorKind.NOT_IMPLEMENTED: "The AWS endpoint does not implement {op}; recorded as not supported.",
    ErrorKind.THROTTLED: "AWS kept throttling {op} after every retry; try again later or lower the parallelism.",
    ErrorKind.NETWORK: "Could not reach the AWS endpoint for {op} (time-out or connection error).",
    ErrorKind.INVALID_CREDENTIALS: "Skyledger's own AWS credentials are missing, invalid or expired.",
    ErrorKind.ROLE_MISSING: "The read role could not be assumed: it does not exist, or its trust policy does not trust Skyledger's principal.",
    ErrorKind.EXTERNAL_ID_MISMATCH: "The read role refused the ExternalId: the ExternalId in the registry does not match the role's trust policy condition (or the role does not exist).",
    ErrorKind.ABSENT: "Not configured.",
    ErrorKind.OTHER: "AWS answered {op} with an error.",
}

COVERAGE = {
    ErrorKind.ACCESS_DENIED: Coverage.DENIED,
    ErrorKind.NOT_IMPLEMENTED: Coverage.UNSUPPORTED,
    ErrorKind.NOT_ENABLED: Coverage.OK,  # "not enabled" is an answer: there is nothing to collect
    ErrorKind.ABSENT: Coverage.OK,
}

ACCESS_DENIED_CODES = {
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
    "AuthorizationErrorException", "UnauthorizedAccess", "Forbidden", "403",
}
NOT_ENABLED_CODES = {
    "OptInRequired", "SubscriptionRequiredException", "InvalidAccessException",
    "AWSOrganizationsNotInUseException",
}
THROTTLE_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException", "RequestThrottled",
}
CREDENTIAL_CODES = {
    "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
    "UnrecognizedClientException", "InvalidAccessKeyId", "AuthFailure",
}
NOT_IMPLEMENTED_CODES = {"NotImplemented", "NotImplementedException", "InternalFailure", "500", "404"}
ABSENT_CODES = {
    "NoSuchEntity", "NoSuchPublicAccessBlockConfiguration", "NoSuchBucketPolicy",
    "ServerSideEncryptionConfigurationNotFoundError", "OwnershipControlsNotFoundError",
    "ResourceNotFoundException", "NoSuchLifecycleConfiguration", "RepositoryPolicyNotFoundException",
    "TrailNotFoundException", "NoSuchConfigurationRecorderException",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Classified:
    kind: ErrorKind
    code: str  # the raw AWS error code (or exception class name)
    message: str  # for people
    operation: str = ""

    @property
    def coverage(self) -> Coverage:
        return COVERAGE.get(self.kind, Coverage.FAILED)


def _client_error_code(exc: ClientError) -> tuple[str, int]:
    error = exc.response.get("Error", {}) if isinstance(exc.response, dict) else {}
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return str(error.get("Code") or status or "Unknown"), status


def classify(exc: BaseException, operation: str = "", assuming_role: bool = False, external_id: bool = False) -> Classified:
    """Map an exception raised by a boto3 call to an :class:`ErrorKind` and a sentence.

    ``assuming_role``: the call was ``sts:AssumeRole``; access denied there means the role is
    missing or does not trust us (or, when ``external_id`` was sent, the ExternalId did not match).
    """
    op = operation or "the call"
    if isinstance(exc, ClientError):
        code, status = _client_error_code(exc)
        operation = operation or getattr(exc, "operation_name", "") or ""
        op = operation or op
        detail = str(exc.response.get("Error", {}).get("Message", "") or "")
        if assuming_role and (code in ACCESS_DENIED_CODES or status == 403):
            kind = ErrorKind.EXTERNAL_ID_MISMATCH if external_id else ErrorKind.ROLE_MISSING
        elif code in THROTTLE_CODES or status == 429:
            kind = ErrorKind.THROTTLED
        elif code in CREDENTIAL_CODES:
            kind = ErrorKind.INVALID_CREDENTIALS
        elif code in ACCESS_DENIED_CODES or status == 403:
            kind = ErrorKind.ACCESS_DENIED
        elif code in ABSENT_CODES:
            kind = ErrorKind.ABSENT
        elif code in NOT_ENABLED_CODES:
            kind = ErrorKind.NOT_ENABLED
        elif code in NOT_IMPLEMENTED_CODES or status in (404, 500, 501):
            kind = ErrorKind.NOT_IMPLEMENTED
        else:
            kind = ErrorKind.OTHER
        message = _MESSAGES[kind].format(op=op)
        if kind is ErrorKind.OTHER and detail:
            message = f"{message} {code}: {detail}"
        return Classified(kind, code, message, operation)
    if isinstance(exc, ResponseParserError):
        # moto answers unimplemented query/XML operations with an HTML page botocore cannot parse
        return Classified(ErrorKind.NOT_IMPLEMENTED, "ResponseParserError", _MESSAGES[ErrorKind.NOT_IMPLEMENTED].format(op=op), operation)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return Classified(ErrorKind.INVALID_CREDENTIALS, type(exc).__name__, _MESSAGES[ErrorKind.INVALID_CREDENTIALS], operation)
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError, ConnectionError, TimeoutError)):
        return Classified(ErrorKind.NETWORK, type(exc).__name__, _MESSAGES[ErrorKind.NETWORK].format(op=op), operation)
    if isinstance(exc, BotoCoreError):
        return Classified(ErrorKind.OTHER, type(exc).__name__, f"{_MESSAGES[ErrorKind.OTHER].format(op=op)} {exc}", operation)
    return Classified(ErrorKind.OTHER, type(exc).__name__, f"Unexpected error in {op}: {exc}", operation)
