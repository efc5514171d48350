"""Every error class, produced over HTTP (moto itself or the fault proxy), and its wording."""

from __future__ import annotations

import time
from collections.abc import Callable

import boto3
import pytest
from botocore.exceptions import ClientError

from inventory.aws.errors import AccessError, AwsError, Classified, ErrorKind, classify
from inventory.aws.session import AwsSettings, Hub
from inventory.records import Coverage
from inventory.simulation.proxy import FaultProxy
from tests.inventory.aws.support import target

pytestmark = pytest.mark.moto


def _raised(fn: Callable[[], object]) -> Exception:
    with pytest.raises(Exception) as raised:  # noqa: B017 (we classify whatever comes)
        fn()
    return raised.value


def test_access_denied_on_a_call_is_reported_as_denied(hub: Hub, proxy: FaultProxy, account: str) -> None:
    proxy.add_rule(
        service="ec2", operation="DescribeSecurityGroups", status=403, code="UnauthorizedOperation"
    )
    ec2 = hub.assume(target(account)).client("ec2", "eu-west-1")

    result = classify(_raised(ec2.describe_security_groups))

    assert result.kind is ErrorKind.ACCESS_DENIED
    assert result.code == "UnauthorizedOperation"
    assert result.message == "Access denied: the read role is not allowed to call DescribeSecurityGroups."
    assert result.coverage is Coverage.DENIED
    ec2.describe_vpcs()  # other calls still pass


def test_assume_role_denied_without_external_id_means_role_missing_or_untrusted(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    proxy.add_rule(service="sts", operation="AssumeRole", status=403, code="AccessDenied")

    with pytest.raises(AccessError) as raised:
        hub.assume(target(account))

    result = raised.value.classified
    assert result.kind is ErrorKind.ROLE_MISSING
    assert "does not exist" in result.message and "trust policy" in result.message
    assert "sts:AssumeRole" in result.detail  # AWS's own words are kept for the curious
    assert classify(raised.value) is result


def test_assume_role_denied_with_external_id_points_at_the_external_id(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    proxy.add_rule(service="sts", operation="AssumeRole", status=403, code="AccessDenied")

    with pytest.raises(AccessError) as raised:
        hub.assume(target(account, external_id="wrong-id"))

    assert raised.value.classified.kind is ErrorKind.EXTERNAL_ID_MISMATCH
    assert "ExternalId" in str(raised.value)


def test_invalid_hub_credentials_are_not_mistaken_for_a_missing_role(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    proxy.add_rule(service="sts", operation="AssumeRole", status=403, code="InvalidClientTokenId")

    with pytest.raises(AccessError) as raised:
        hub.assume(target(account, external_id="x1"))

    assert raised.value.classified.kind is ErrorKind.INVALID_CREDENTIALS
    assert "Skyledger's own AWS credentials" in raised.value.classified.message


def test_missing_hub_credentials_are_invalid_credentials(
    proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, tmp_path: object, account: str
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{tmp_path}/none")
    monkeypatch.setenv("AWS_CONFIG_FILE", f"{tmp_path}/none")
    hub = Hub(AwsSettings(endpoint_url=proxy.url), session=boto3.Session(region_name="us-east-1"))

    with pytest.raises(AccessError) as raised:
        hub.assume(target(account))

    assert raised.value.classified.kind is ErrorKind.INVALID_CREDENTIALS
    assert raised.value.classified.code == "NoCredentialsError"
    assert proxy.seen() == []  # nothing unsigned left the process


def test_throttling_that_never_stops_is_throttled_after_every_attempt(
    make_hub: Callable[..., Hub], proxy: FaultProxy, account: str
) -> None:
    session = make_hub(max_attempts=2).assume(target(account))
    proxy.add_rule(service="ec2", operation="DescribeInstances", status=400, code="RequestLimitExceeded")

    result = classify(_raised(session.client("ec2").describe_instances))

    assert result.kind is ErrorKind.THROTTLED
    assert result.message.startswith("AWS kept throttling DescribeInstances after every retry")
    assert result.coverage is Coverage.FAILED
    assert len(proxy.seen("ec2", "DescribeInstances")) == 2
    [row] = [r for r in session.stats.snapshot()["operations"] if r["operation"] == "DescribeInstances"]
    assert (row["error"], row["calls"], row["attempts"], row["retries"]) == ("RequestLimitExceeded", 1, 2, 1)


@pytest.mark.parametrize(
    ("service", "call"),
    [
        ("accessanalyzer", lambda c: c.list_analyzers()),  # a service moto lacks: HTML 501
        ("securityhub", lambda c: c.get_enabled_standards()),  # REST-JSON: HTML 404
        ("account", lambda c: c.list_regions()),  # REST-JSON: HTML 404
    ],
    ids=["json-501", "rest-404", "account-list-regions"],
)
def test_operations_moto_does_not_implement_are_not_implemented_and_not_retried(
    hub: Hub, proxy: FaultProxy, account: str, service: str, call: Callable[[object], object]
) -> None:
    session = hub.assume(target(account))
    started = time.monotonic()

    result = classify(_raised(lambda: call(session.client(service))))

    assert result.kind is ErrorKind.NOT_IMPLEMENTED
    assert result.message.endswith("recorded as not supported.")
    assert "<" not in result.detail  # no HTML page in front of people
    assert result.coverage is Coverage.UNSUPPORTED
    # one attempt: the HTML page is never retried
    assert len([r for r in proxy.seen() if r.service != "sts"]) == 1
    assert time.monotonic() - started < 2


def test_query_service_answering_html_501_is_not_implemented(hub: Hub, account: str) -> None:
    iam = hub.assume(target(account)).client("iam")
    exc = _raised(lambda: iam.generate_service_last_accessed_details(Arn=f"arn:aws:iam::{account}:role/x"))

    result = classify(exc)

    # the HTML page is read by its status (no ResponseParserError): an explicit 501
    assert (type(exc).__name__, result.code) == ("ClientError", "501")
    assert (result.kind, result.operation) == (
        ErrorKind.NOT_IMPLEMENTED,
        "GenerateServiceLastAccessedDetails",
    )
    assert result.coverage is Coverage.UNSUPPORTED


def test_connection_refused_is_a_network_error_after_retries(
    boto_session: boto3.Session, account: str
) -> None:
    hub = Hub(AwsSettings(endpoint_url="http://127.0.0.1:9", max_attempts=2), session=boto_session)

    with pytest.raises(AccessError) as raised:
        hub.assume(target(account))

    result = raised.value.classified
    assert (result.kind, result.code) == (ErrorKind.NETWORK, "EndpointConnectionError")
    assert result.message == "Could not reach the AWS endpoint for AssumeRole (time-out or connection error)."
    [row] = hub.stats.snapshot()["operations"]
    assert (row["operation"], row["error"], row["calls"], row["attempts"]) == (
        "AssumeRole",
        "EndpointConnectionError",
        1,
        2,
    )


def test_a_read_time_out_is_a_network_error(
    make_hub: Callable[..., Hub], proxy: FaultProxy, account: str
) -> None:
    session = make_hub(read_timeout=1, max_attempts=1).assume(target(account))
    proxy.add_rule(service="ec2", operation="DescribeVpcs", delay=3.0, times=1)  # stop() cuts it short

    result = classify(_raised(session.client("ec2").describe_vpcs))

    assert (result.kind, result.code) == (ErrorKind.NETWORK, "ReadTimeoutError")


def test_service_not_subscribed_is_not_enabled_and_counts_as_collected(
    hub: Hub, proxy: FaultProxy, account: str
) -> None:
    proxy.add_rule(service="ec2", operation="DescribeVpcs", status=401, code="OptInRequired")

    result = classify(_raised(hub.assume(target(account)).client("ec2").describe_vpcs))

    assert result.kind is ErrorKind.NOT_ENABLED
    assert result.coverage is Coverage.OK
    assert (
        result.message
        == "The service behind DescribeVpcs is not enabled or not subscribed in this account or region."
    )


def _client_error(code: str, status: int, message: str = "", operation: str = "ListThings") -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "status", "assuming", "external_id", "kind"),
    [
        ("AccessDeniedException", 400, False, False, ErrorKind.ACCESS_DENIED),
        ("AuthorizationError", 403, False, False, ErrorKind.ACCESS_DENIED),
        ("AccessDenied", 403, True, False, ErrorKind.ROLE_MISSING),
        ("AccessDenied", 403, True, True, ErrorKind.EXTERNAL_ID_MISMATCH),
        ("ExpiredToken", 400, True, True, ErrorKind.INVALID_CREDENTIALS),
        ("SignatureDoesNotMatch", 403, False, False, ErrorKind.INVALID_CREDENTIALS),
        ("ThrottlingException", 400, False, False, ErrorKind.THROTTLED),
        ("SlowDown", 503, False, False, ErrorKind.THROTTLED),
        ("TooManyRequests", 429, False, False, ErrorKind.THROTTLED),
        ("SubscriptionRequiredException", 400, False, False, ErrorKind.NOT_ENABLED),
        ("RegionDisabledException", 403, True, False, ErrorKind.NOT_ENABLED),
        ("InvalidAction", 400, False, False, ErrorKind.NOT_IMPLEMENTED),
        ("UnknownOperationException", 400, False, False, ErrorKind.NOT_IMPLEMENTED),
        ("501", 501, False, False, ErrorKind.NOT_IMPLEMENTED),
        ("404", 404, False, False, ErrorKind.NOT_IMPLEMENTED),
        # a bare 5xx (an HTML page from a gateway) is a server fault: retried, then a failure
        ("500", 500, False, False, ErrorKind.SERVER_ERROR),
        ("503", 503, False, False, ErrorKind.SERVER_ERROR),
        ("NoSuchEntity", 404, False, False, ErrorKind.ABSENT),
        ("ServerSideEncryptionConfigurationNotFoundError", 404, False, False, ErrorKind.ABSENT),
        # a real AWS server error is a failure to retry later, not "not implemented"
        ("InternalFailure", 500, False, False, ErrorKind.SERVER_ERROR),
        ("NoSuchBucket", 404, False, False, ErrorKind.OTHER),
        ("ValidationError", 400, False, False, ErrorKind.OTHER),
    ],
)
def test_real_aws_error_codes_are_classified(
    code: str, status: int, assuming: bool, external_id: bool, kind: ErrorKind
) -> None:
    assert classify(_client_error(code, status), assuming_role=assuming, external_id=external_id).kind is kind


def test_unknown_errors_keep_awss_code_and_message_and_malformed_answers_do_not_crash() -> None:
    other = classify(_client_error("ValidationError", 400, "1 validation error: <b>RoleArn</b>"))
    assert (
        other.message
        == "AWS answered ListThings with an error. ValidationError: 1 validation error: <b>RoleArn</b>"
    )

    long = classify(_client_error("AccessDenied", 403, "x" * 5000))
    assert len(long.detail) <= 500

    broken = _client_error("X", 400)
    broken.response.update({"Error": None, "ResponseMetadata": {"HTTPStatusCode": "n/a"}})  # type: ignore[typeddict-item]
    assert classify(broken).kind is ErrorKind.OTHER

    assert classify(ValueError("boom"), "Parse").message == "Unexpected error in Parse: boom"
    known = Classified(ErrorKind.THROTTLED, "Throttling", "slow down", "Op")
    assert classify(AwsError(known)) is known


def test_access_denied_names_the_missing_action_from_aws_message() -> None:
    message = (
        "User: arn:aws:sts::111122223333:assumed-role/SkyledgerReadOnly/run-1 is not authorized to perform: "
        "kms:GetKeyPolicy because no identity-based policy allows the kms:GetKeyPolicy action"
    )
    exc = ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, "GetKeyPolicy")

    result = classify(exc)

    assert result.kind is ErrorKind.ACCESS_DENIED
    assert "It lacks kms:GetKeyPolicy" in result.message
    assert "deploy/aws/read-role-policy.json" in result.message
