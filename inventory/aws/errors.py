"""Error classification used everywhere AWS is called. No Django here.

Every failure is mapped to one :class:`ErrorKind` with a sentence a person understands, and to the
:class:`~inventory.records.Coverage` it means for collection.

The codes are AWS's real error codes. Two endpoint quirks are handled on purpose:

- "Not implemented" needs an explicit signal: an AWS code that says so, or a bare HTTP 501 (the
  simulated endpoint answers operations moto lacks that way), 404 or 405 (no such route). A bare
  500, 502, 503 or 504, with or without an HTML page, is a server fault: botocore retries it, and
  one that persists is a failure of that call, never "not supported".
- A page botocore cannot parse at all (``ResponseParserError``) is not an AWS answer: a failure.
"""

from __future__ import annotations

import dataclasses
import enum
import re

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError

from core.secrets import TextRedactor
from inventory.aws.permissions import action_in_message
from inventory.records import Coverage


class ErrorKind(enum.StrEnum):
    ACCESS_DENIED = "access-denied"
    NOT_ENABLED = "not-enabled"  # service not enabled / not subscribed in this account or region
    NOT_IMPLEMENTED = "not-implemented"  # the endpoint does not implement the operation
    THROTTLED = "throttled"  # still throttled after retries
    NETWORK = "network"  # time-out, connection refused/closed
    SERVER_ERROR = "server-error"  # HTTP 5xx from the endpoint, still failing after retries
    INVALID_CREDENTIALS = "invalid-credentials"
    ROLE_MISSING = "role-missing"
    EXTERNAL_ID_MISMATCH = "external-id-mismatch"
    ABSENT = "absent"  # "there is none" answered as an error (NoSuchEntity for a password policy...)
    OTHER = "other"


_MESSAGES = {
    ErrorKind.ACCESS_DENIED: "Access denied: the read role is not allowed to call {op}.",
    ErrorKind.NOT_ENABLED: "The service behind {op} is not enabled or not subscribed in this account or region.",
    ErrorKind.NOT_IMPLEMENTED: "The AWS endpoint does not implement {op}; recorded as not supported.",
    ErrorKind.THROTTLED: "AWS kept throttling {op} after every retry; try again later or lower the parallelism.",
    ErrorKind.SERVER_ERROR: "The AWS endpoint answered {op} with a server error (HTTP {status}) after every retry; try again later.",
    ErrorKind.NETWORK: "Could not reach the AWS endpoint for {op} (time-out or connection error).",
    ErrorKind.INVALID_CREDENTIALS: "AWS rejected the credentials for {op}: Skyledger's own AWS credentials (or the role session) are missing, invalid or expired.",
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
    "AuthorizationErrorException", "UnauthorizedAccess", "UnauthorizedException", "Forbidden",
    "ForbiddenException", "403",
}  # fmt: skip
NOT_ENABLED_CODES = {
    "OptInRequired", "SubscriptionRequiredException", "InvalidAccessException",
    "AWSOrganizationsNotInUseException", "RegionDisabledException",
}  # fmt: skip
THROTTLE_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException", "RequestThrottled",
    "BandwidthLimitExceeded", "LimitExceededException",
}  # fmt: skip
CREDENTIAL_CODES = {
    "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
    "UnrecognizedClientException", "InvalidAccessKeyId", "AuthFailure", "InvalidToken",
    "RequestExpired", "MissingAuthenticationToken", "IncompleteSignature",
}  # fmt: skip
# Codes AWS itself uses for "this operation does not exist here" (a newer API in an older region).
NOT_IMPLEMENTED_CODES = {
    "NotImplemented", "NotImplementedException", "InvalidAction", "UnknownOperationException",
    "UnsupportedOperation",
}  # fmt: skip
# A bare status (no AWS error document) that says "no such operation or route here".
_NOT_IMPLEMENTED_STATUSES = {"404", "405", "501"}
SERVER_ERROR_CODES = {
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
}
ABSENT_CODES = {
    "NoSuchEntity", "NoSuchPublicAccessBlockConfiguration", "NoSuchBucketPolicy",
    "ServerSideEncryptionConfigurationNotFoundError", "OwnershipControlsNotFoundError",
    "ResourceNotFoundException", "NoSuchLifecycleConfiguration", "RepositoryPolicyNotFoundException",
    "TrailNotFoundException", "NoSuchConfigurationRecorderException", "NoSuchTagSet",
    "NoSuchCORSConfiguration", "NoSuchWebsiteConfiguration", "ReplicationConfigurationNotFoundError",
    "ObjectLockConfigurationNotFoundError", "NoSuchAccessPointPolicy",
}  # fmt: skip

_DETAIL_LIMIT = 500


@dataclasses.dataclass(frozen=True, slots=True)
class Classified:
    """One failure, classified: what kind, AWS's code, and a sentence for people."""

    kind: ErrorKind
    code: str  # the raw AWS error code (or exception class name)
    message: str  # for people
    operation: str = ""
    detail: str = ""  # AWS's own message, when it gave one (shortened), for the curious

    @property
    def coverage(self) -> Coverage:
        return COVERAGE.get(self.kind, Coverage.FAILED)


class AwsError(Exception):
    """An AWS failure Skyledger has already classified (``classify()`` returns it unchanged)."""

    def __init__(self, classified: Classified) -> None:
        super().__init__(classified.message)
        self.classified = classified


class AccessError(AwsError):
    """The read role could not be assumed, or its credentials could not be refreshed."""


class Unsupported(AwsError):
    """The endpoint already answered "not implemented" for this operation in this run."""


def _client_error_code(exc: ClientError) -> tuple[str, int, str]:
    response = exc.response if isinstance(exc.response, dict) else {}
    error = response.get("Error") or {}
    metadata = response.get("ResponseMetadata") or {}
    try:
        status = int(metadata.get("HTTPStatusCode") or 0)
    except (TypeError, ValueError):
        status = 0
    return str(error.get("Code") or status or "Unknown"), status, str(error.get("Message") or "")


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


def _looks_like_html(text: str) -> bool:
    return bool(re.search(r"<(!doctype html|html)\b", text[:2000], re.IGNORECASE))


def _kind_for_code(code: str, status: int, assuming_role: bool, external_id: bool) -> ErrorKind:
    # Order matters: a bad key on AssumeRole is a 403 too, but it is our credentials, not the role.
    if code in CREDENTIAL_CODES:
        return ErrorKind.INVALID_CREDENTIALS
    if code in THROTTLE_CODES or status == 429:
        return ErrorKind.THROTTLED
    if code in NOT_ENABLED_CODES:  # before the 403 rule: RegionDisabledException is a 403
        return ErrorKind.NOT_ENABLED
    if assuming_role and (code in ACCESS_DENIED_CODES or status == 403):
        # AWS answers the same AccessDenied for a missing role, a trust policy that does not name
        # us, and a wrong ExternalId; we can only say which of our inputs was in play.
        return ErrorKind.EXTERNAL_ID_MISMATCH if external_id else ErrorKind.ROLE_MISSING
    if code in ACCESS_DENIED_CODES or status == 403:
        return ErrorKind.ACCESS_DENIED
    if code in ABSENT_CODES:
        return ErrorKind.ABSENT
    if code in NOT_IMPLEMENTED_CODES or code in _NOT_IMPLEMENTED_STATUSES:
        return ErrorKind.NOT_IMPLEMENTED
    if (
        code in SERVER_ERROR_CODES
        or (status >= 500 and code == str(status))
        or status in (500, 502, 503, 504)
    ):
        return ErrorKind.SERVER_ERROR
    return ErrorKind.OTHER


def classify(
    exc: BaseException, operation: str = "", assuming_role: bool = False, external_id: bool = False
) -> Classified:
    """Map an exception raised by a boto3 call to an :class:`ErrorKind` and a sentence.

    ``assuming_role``: the call was ``sts:AssumeRole``; access denied there means the role is
    missing or does not trust us (or, when ``external_id`` was sent, the ExternalId did not match).
    An :class:`AwsError` (already classified by this package) is returned as it is.
    """
    if isinstance(exc, AwsError):
        return exc.classified
    op = operation or "the call"
    if isinstance(exc, ClientError):
        code, status, detail = _client_error_code(exc)
        operation = operation or getattr(exc, "operation_name", "") or ""
        op = operation or op
        kind = _kind_for_code(code, status, assuming_role, external_id)
        message = _MESSAGES[kind].format(op=op, status=status or code)
        if kind is ErrorKind.OTHER:
            message = f"{message} {code}" + (f": {_shorten(detail)}" if detail else "")
        missing = action_in_message(detail) if kind is ErrorKind.ACCESS_DENIED else ""
        if missing:
            message = (
                f"{message} It lacks {missing}: deploy the current read role policy "
                "(deploy/aws/read-role-policy.json, see docs/aws-setup.md)."
            )
        detail = "" if _looks_like_html(detail) else _shorten(detail)
        return Classified(kind, code, message, operation, detail)
    if isinstance(exc, ResponseParserError):
        message = f"The AWS endpoint answered {op} with something that is not a valid AWS response."
        detail = "" if _looks_like_html(str(exc)) else _shorten(str(exc))
        return Classified(ErrorKind.OTHER, "ResponseParserError", message, operation, detail)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        kind = ErrorKind.INVALID_CREDENTIALS
        return Classified(kind, type(exc).__name__, _MESSAGES[kind].format(op=op), operation)
    network = (
        EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError,
        BotoConnectionError, HTTPClientError, ConnectionError, TimeoutError,
    )  # fmt: skip
    if isinstance(exc, network):
        kind = ErrorKind.NETWORK
        return Classified(
            kind, type(exc).__name__, _MESSAGES[kind].format(op=op), operation, _shorten(str(exc))
        )
    if isinstance(exc, BotoCoreError):
        message = f"{_MESSAGES[ErrorKind.OTHER].format(op=op)} {_shorten(str(exc))}"
        return Classified(ErrorKind.OTHER, type(exc).__name__, message, operation)
    return Classified(
        ErrorKind.OTHER, type(exc).__name__, f"Unexpected error in {op}: {_shorten(str(exc))}", operation
    )


def without_secret(classified: Classified, secret: str | None) -> Classified:
    """``classified`` with ``secret`` (the ExternalId that was sent) masked in its message and
    detail: AWS echoes a rejected parameter's value in some validation errors, and these texts are
    stored on runs and accounts and shown to everyone."""
    if not secret:
        return classified
    redact = TextRedactor([secret], min_length=1)
    message, detail = redact(classified.message), redact(classified.detail)
    if message == classified.message and detail == classified.detail:
        return classified
    return dataclasses.replace(classified, message=message, detail=detail)


def not_implemented(operation: str, code: str = "NotImplemented") -> Classified:
    """The classification of an operation already known to be unimplemented by the endpoint."""
    kind = ErrorKind.NOT_IMPLEMENTED
    return Classified(kind, code, _MESSAGES[kind].format(op=operation or "the call"), operation)
