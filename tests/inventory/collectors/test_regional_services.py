"""The smaller regional collectors against the moto server: one estate, each collector proves its shape."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from inventory.collectors.accessanalyzer import AccessAnalyzerCollector
from inventory.collectors.awslambda import LambdaCollector
from inventory.collectors.cloudtrail import CloudTrailCollector
from inventory.collectors.cloudwatch import CloudWatchCollector
from inventory.collectors.configservice import ConfigCollector
from inventory.collectors.dynamodb import DynamoDbCollector
from inventory.collectors.ecr import EcrCollector
from inventory.collectors.eks import EksCollector
from inventory.collectors.elb import ElbCollector
from inventory.collectors.elbv2 import Elbv2Collector
from inventory.collectors.guardduty import GuardDutyCollector
from inventory.collectors.kms import KmsCollector
from inventory.collectors.logs import LogsCollector
from inventory.collectors.rds import RdsCollector
from inventory.collectors.secretsmanager import SecretsManagerCollector
from inventory.collectors.securityhub import SecurityHubCollector
from inventory.collectors.sns import SnsCollector
from inventory.collectors.sqs import SqsCollector
from inventory.records import Coverage, Record
from tests.inventory.collectors.conftest import (
    DEFAULT_ACCOUNT,
    AccountClients,
    by_type,
    count_requests,
    inject_error,
    make_ctx,
    run,
)

pytestmark = pytest.mark.moto

Clients = Callable[..., AccountClients]
A = DEFAULT_ACCOUNT
R = "us-east-1"
HOSTILE = "<b onmouseover=alert(1)>ÿ 中文 🚀</b>"
SECRET_VALUE = "hunter2-never-collected"


def _policy(principal: Any, action: str, resource: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource}],
    }


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def build_estate(clients: AccountClients) -> dict[str, Any]:
    ids: dict[str, Any] = {}
    ec2 = clients("ec2", R)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [
        s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    ][:2]
    sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"][0][
        "GroupId"
    ]
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=subnets[0])[
        "Instances"
    ][0]["InstanceId"]
    ids["instance"] = instance
    role_arn = clients("iam").create_role(
        RoleName="service-role",
        AssumeRolePolicyDocument=json.dumps(
            _policy({"Service": "lambda.amazonaws.com"}, "sts:AssumeRole", "*") | {}
        ),
    )["Role"]["Arn"]

    rds = clients("rds", R)
    rds.create_db_instance(
        DBInstanceIdentifier="orders",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="password123",
        PubliclyAccessible=True,
        Tags=[{"Key": "Name", "Value": HOSTILE}],
    )
    rds.create_db_snapshot(DBInstanceIdentifier="orders", DBSnapshotIdentifier="orders-shared")
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="orders-shared", AttributeName="restore", ValuesToAdd=["all"]
    )
    rds.create_db_cluster(
        DBClusterIdentifier="aurora",
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword="password123",
    )
    rds.create_db_cluster_snapshot(DBClusterIdentifier="aurora", DBClusterSnapshotIdentifier="aurora-snap")

    elb = clients("elb", R)
    elb.create_load_balancer(
        LoadBalancerName="classic",
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}],
        AvailabilityZones=[f"{R}a"],
        Tags=[{"Key": "Name", "Value": HOSTILE}],
    )
    elb.register_instances_with_load_balancer(
        LoadBalancerName="classic", Instances=[{"InstanceId": instance}]
    )
    elbv2 = clients("elbv2", R)
    lb_arn = elbv2.create_load_balancer(
        Name="web",
        Subnets=subnets,
        SecurityGroups=[sg],
        Scheme="internet-facing",
        Tags=[{"Key": "env", "Value": HOSTILE}],
    )["LoadBalancers"][0]["LoadBalancerArn"]
    tg_arn = elbv2.create_target_group(Name="web-tg", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0][
        "TargetGroupArn"
    ]
    elbv2.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": instance, "Port": 80}])
    elbv2.create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
    )
    ids["tg"] = tg_arn

    lam = clients("lambda", R)
    lam.create_function(
        FunctionName="api",
        Runtime="python3.12",
        Role=role_arn,
        Handler="index.handler",
        Code={"ZipFile": _zip()},
        Tags={"Name": HOSTILE},
    )
    lam.add_permission(
        FunctionName="api", StatementId="public", Action="lambda:InvokeFunction", Principal="*"
    )
    lam.create_function_url_config(FunctionName="api", AuthType="NONE")
    lam.create_function(
        FunctionName="worker",
        Runtime="python3.12",
        Role=role_arn,
        Handler="index.handler",
        Code={"ZipFile": _zip()},
    )

    clients("s3", R).create_bucket(Bucket="trail-bucket")
    trail = clients("cloudtrail", R)
    trail.create_trail(
        Name="org-trail", S3BucketName="trail-bucket", IsMultiRegionTrail=True, EnableLogFileValidation=True
    )
    trail.start_logging(Name="org-trail")

    ids["detector"] = clients("guardduty", R).create_detector(Enable=True)["DetectorId"]

    config = clients("config", R)
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": role_arn,
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )

    kms = clients("kms", R)
    key = kms.create_key(Description="data key", Tags=[{"TagKey": "Name", "TagValue": HOSTILE}])[
        "KeyMetadata"
    ]["KeyId"]
    kms.enable_key_rotation(KeyId=key)
    kms.create_alias(AliasName="alias/data", TargetKeyId=key)
    ids["key"] = key
    ids["asymmetric_key"] = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]

    sns = clients("sns", R)
    topic = sns.create_topic(Name="alerts", Tags=[{"Key": "Name", "Value": HOSTILE}])["TopicArn"]
    ids["topic_policy"] = _policy("*", "SNS:Publish", topic)
    sns.set_topic_attributes(
        TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(ids["topic_policy"])
    )

    sqs = clients("sqs", R)
    queue = sqs.create_queue(QueueName="jobs", tags={"Name": HOSTILE})["QueueUrl"]
    ids["queue_policy"] = _policy({"AWS": "*"}, "sqs:SendMessage", f"arn:aws:sqs:{R}:{A}:jobs")
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": json.dumps(ids["queue_policy"])})

    ecr = clients("ecr", R)
    ecr.create_repository(repositoryName="app", tags=[{"Key": "Name", "Value": HOSTILE}])
    ids["repo_policy"] = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "pull", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}],
    }
    ecr.set_repository_policy(repositoryName="app", policyText=json.dumps(ids["repo_policy"]))
    ecr.create_repository(repositoryName="private")

    clients("eks", R).create_cluster(
        name="k8s",
        roleArn=role_arn,
        resourcesVpcConfig={"subnetIds": subnets, "endpointPublicAccess": True},
        tags={"Name": HOSTILE},
    )

    dynamo = clients("dynamodb", R)
    dynamo.create_table(
        TableName="sessions",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "Name", "Value": HOSTILE}],
    )
    dynamo.update_continuous_backups(
        TableName="sessions", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )

    secrets = clients("secretsmanager", R)
    secret_arn = secrets.create_secret(
        Name="db-password", SecretString=SECRET_VALUE, Tags=[{"Key": "Name", "Value": HOSTILE}]
    )["ARN"]
    ids["secret_policy"] = _policy(
        {"AWS": "arn:aws:iam::999999999999:root"}, "secretsmanager:GetSecretValue", "*"
    )
    secrets.put_resource_policy(SecretId=secret_arn, ResourcePolicy=json.dumps(ids["secret_policy"]))

    logs = clients("logs", R)
    logs.create_log_group(logGroupName="trail-logs")
    logs.put_metric_filter(
        logGroupName="trail-logs",
        filterName="root-usage",
        filterPattern='{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS }',
        metricTransformations=[{"metricName": "RootUsage", "metricNamespace": "CIS", "metricValue": "1"}],
    )
    clients("cloudwatch", R).put_metric_alarm(
        AlarmName="root-usage",
        MetricName="RootUsage",
        Namespace="CIS",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    return ids


@pytest.fixture(scope="module")
def estate(endpoint: str) -> dict[str, Any]:
    return build_estate(AccountClients(endpoint))


@pytest.fixture(scope="module")
def collected(estate: dict[str, Any], endpoint: str) -> dict[str, tuple[dict[str, list[Record]], Any]]:
    """Every collector of this module run once over the estate, sharing one run's unsupported set."""
    clients = AccountClients(endpoint)
    unsupported: set[tuple[str, str]] = set()
    results = {}
    for collector in COLLECTORS:
        ctx = make_ctx(clients, A, R, unsupported)
        results[collector.service] = (by_type(run(collector, ctx)), ctx)
    return results


COLLECTORS = [
    RdsCollector(),
    ElbCollector(),
    Elbv2Collector(),
    LambdaCollector(),
    CloudTrailCollector(),
    GuardDutyCollector(),
    ConfigCollector(),
    KmsCollector(),
    SnsCollector(),
    SqsCollector(),
    EcrCollector(),
    EksCollector(),
    DynamoDbCollector(),
    SecretsManagerCollector(),
    CloudWatchCollector(),
    LogsCollector(),
]

# the extra keys types.py documents, per type
EXTRAS = {
    "rds:db-snapshot": {"Attributes"},
    "rds:db-cluster-snapshot": {"Attributes"},
    "elbv2:load-balancer": {"Listeners", "TargetGroups"},
    "lambda:function": {"Policy", "FunctionUrl"},
    "cloudtrail:trail": {"Status", "EventSelectors"},
    "guardduty:detector": {"DetectorId"},
    "config:recorder": {"Status"},
    "kms:key": {"RotationEnabled", "Policy", "Aliases"},
    "sns:topic": {"Policy"},
    "sqs:queue": {"Policy", "QueueUrl"},
    "ecr:repository": {"Policy"},
    "dynamodb:table": {"ContinuousBackups"},
    "secretsmanager:secret": {"ResourcePolicy"},
}


@pytest.mark.parametrize("collector", COLLECTORS, ids=lambda c: c.service)
def test_collector_yields_every_declared_type_with_documented_extras(collector: Any, collected: Any) -> None:
    records, ctx = collected[collector.service]
    assert set(records) == set(collector.types), set(collector.types) - set(records)
    assert all(c is Coverage.OK for c in ctx.coverage.values()), ctx.coverage
    assert not ctx.errors, ctx.errors
    for type_, recs in records.items():
        for rec in recs:
            assert EXTRAS.get(type_, set()) <= set(rec.data), (type_, set(rec.data))
            assert rec.region == R and rec.arn.startswith("arn:aws:") and rec.resource_id
            json.dumps(rec.data)


def _one(collected: Any, service: str, type_: str, resource_id: str | None = None) -> Record:
    records = collected[service][0][type_]
    return next(r for r in records if resource_id is None or r.resource_id == resource_id)


def test_rds_records_carry_public_flags_and_snapshot_sharing(collected: Any) -> None:
    instance = _one(collected, "rds", "rds:db-instance", "orders")
    assert instance.data["PubliclyAccessible"] is True and instance.name == HOSTILE
    shared = _one(collected, "rds", "rds:db-snapshot", "orders-shared")
    restore = next(a for a in shared.data["Attributes"] if a["AttributeName"] == "restore")
    assert restore["AttributeValues"] == ["all"]
    cluster_snapshot = _one(collected, "rds", "rds:db-cluster-snapshot", "aurora-snap")
    assert isinstance(cluster_snapshot.data["Attributes"], list)
    assert _one(collected, "rds", "rds:db-cluster", "aurora").arn.endswith(":cluster:aurora")


def test_load_balancers_carry_listeners_and_targets(collected: Any, estate: dict[str, Any]) -> None:
    classic = _one(collected, "elb", "elb:load-balancer", "classic")
    assert classic.arn == f"arn:aws:elasticloadbalancing:{R}:{A}:loadbalancer/classic"
    assert classic.tags == {"Name": HOSTILE}
    assert [i["InstanceId"] for i in classic.data["Instances"]] == [estate["instance"]]
    web = _one(collected, "elbv2", "elbv2:load-balancer", "web")
    assert web.data["Scheme"] == "internet-facing" and web.tags == {"env": HOSTILE}
    assert [listener["Port"] for listener in web.data["Listeners"]] == [80]
    assert web.data["TargetGroups"] == [
        {
            "TargetGroupArn": estate["tg"],
            "TargetGroupName": "web-tg",
            "Port": 80,
            "Protocol": "HTTP",
            "TargetType": "instance",
            "Targets": [estate["instance"]],
        }
    ]


def test_lambda_functions_carry_resource_policy_and_url_or_none(collected: Any) -> None:
    api = _one(collected, "lambda", "lambda:function", "api")
    assert api.data["Policy"]["Statement"][0]["Principal"] == "*"
    assert api.data["FunctionUrl"]["AuthType"] == "NONE"
    assert api.tags == {"Name": HOSTILE}
    worker = _one(collected, "lambda", "lambda:function", "worker")
    assert (worker.data["Policy"], worker.data["FunctionUrl"]) == (None, None)


def test_trail_is_recorded_in_its_home_region_only(collected: Any, clients_for: Clients) -> None:
    trail = _one(collected, "cloudtrail", "cloudtrail:trail", "org-trail")
    assert trail.data["Status"]["IsLogging"] is True
    assert trail.data["EventSelectors"].keys() == {"EventSelectors", "AdvancedEventSelectors"}
    assert trail.data["IsMultiRegionTrail"] is True
    elsewhere = make_ctx(clients_for(), A, "eu-west-1")
    assert run(CloudTrailCollector(), elsewhere) == []
    assert elsewhere.coverage.get("cloudtrail:trail", Coverage.OK) is Coverage.OK


def test_detection_services(collected: Any, estate: dict[str, Any]) -> None:
    detector = _one(collected, "guardduty", "guardduty:detector")
    assert detector.data["DetectorId"] == estate["detector"] and detector.data["Status"] == "ENABLED"
    assert detector.arn == f"arn:aws:guardduty:{R}:{A}:detector/{estate['detector']}"
    recorder = _one(collected, "config", "config:recorder", "default")
    assert recorder.data["Status"]["name"] == "default"
    assert recorder.data["recordingGroup"]["allSupported"] is True
    alarm = _one(collected, "cloudwatch", "cloudwatch:alarm", "root-usage")
    assert alarm.data["MetricName"] == "RootUsage"
    metric_filter = _one(collected, "logs", "logs:metric-filter")
    assert metric_filter.resource_id == "trail-logs/root-usage"
    assert metric_filter.arn == f"arn:aws:logs:{R}:{A}:log-group:trail-logs:metric-filter:root-usage"
    assert metric_filter.data["metricTransformations"][0]["metricName"] == "RootUsage"


def test_kms_rotation_is_asked_only_for_customer_symmetric_keys(
    collected: Any, estate: dict[str, Any]
) -> None:
    key = _one(collected, "kms", "kms:key", estate["key"])
    assert key.data["RotationEnabled"] is True
    assert key.data["Aliases"] == ["alias/data"] and key.name == HOSTILE
    assert key.data["Policy"]["Statement"]
    asymmetric = _one(collected, "kms", "kms:key", estate["asymmetric_key"])
    assert asymmetric.data["RotationEnabled"] is None and asymmetric.data["Aliases"] == []


def test_resource_policies_are_parsed(collected: Any, estate: dict[str, Any]) -> None:
    topic = _one(collected, "sns", "sns:topic", "alerts")
    assert topic.data["Policy"] == estate["topic_policy"] and topic.tags == {"Name": HOSTILE}
    queue = _one(collected, "sqs", "sqs:queue", "jobs")
    assert queue.data["Policy"] == estate["queue_policy"]
    assert queue.data["QueueUrl"].endswith("/jobs") and queue.arn == f"arn:aws:sqs:{R}:{A}:jobs"
    assert _one(collected, "ecr", "ecr:repository", "app").data["Policy"] == estate["repo_policy"]
    assert _one(collected, "ecr", "ecr:repository", "private").data["Policy"] is None
    secret = _one(collected, "secretsmanager", "secretsmanager:secret", "db-password")
    assert secret.data["ResourcePolicy"] == estate["secret_policy"]


def test_secret_values_are_never_collected(collected: Any) -> None:
    secret = _one(collected, "secretsmanager", "secretsmanager:secret", "db-password")
    assert SECRET_VALUE not in json.dumps(secret.data) and "SecretString" not in secret.data
    assert secret.tags == {"Name": HOSTILE}


def test_eks_and_dynamodb(collected: Any) -> None:
    cluster = _one(collected, "eks", "eks:cluster", "k8s")
    assert cluster.data["resourcesVpcConfig"]["endpointPublicAccess"] is True and cluster.tags == {
        "Name": HOSTILE
    }
    table = _one(collected, "dynamodb", "dynamodb:table", "sessions")
    assert (
        table.data["ContinuousBackups"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
        == "ENABLED"
    )
    assert table.tags == {"Name": HOSTILE}


def test_security_hub_not_subscribed_is_complete_with_no_record(
    estate: dict[str, Any], clients_for: Clients
) -> None:
    ctx = make_ctx(clients_for(), A, R)
    assert run(SecurityHubCollector(), ctx) == []
    assert ctx.coverage.get("securityhub:hub", Coverage.OK) is Coverage.OK and not ctx.errors


def test_security_hub_subscribed_is_recorded(estate: dict[str, Any], clients_for: Clients) -> None:
    region = "eu-west-1"  # subscribed there only, so the test above still sees R unsubscribed
    clients = clients_for()
    clients("securityhub", region).enable_security_hub(EnableDefaultStandards=False)
    ctx = make_ctx(clients, A, region)
    hubs = run(SecurityHubCollector(), ctx)
    assert [r.type for r in hubs] == ["securityhub:hub"]
    assert hubs[0].arn.startswith(f"arn:aws:securityhub:{region}:{A}:hub/") and "SubscribedAt" in hubs[0].data


def test_an_unimplemented_service_is_unsupported_and_not_asked_again_in_the_region(
    clients_for: Clients,
) -> None:
    clients = clients_for()
    unsupported: set[tuple[str, str, str]] = set()
    first = make_ctx(clients, A, R, unsupported)
    assert run(AccessAnalyzerCollector(), first) == []
    assert first.coverage["accessanalyzer:analyzer"] is Coverage.UNSUPPORTED
    assert [e.code for e in first.errors] == ["not-implemented"]
    assert ("accessanalyzer", R, "ListAnalyzers") in unsupported

    sent = count_requests(clients("accessanalyzer", R))
    second = make_ctx(clients, A, R, unsupported)
    assert run(AccessAnalyzerCollector(), second) == []
    assert second.coverage["accessanalyzer:analyzer"] is Coverage.UNSUPPORTED
    assert sent == [] and second.errors == []


def test_a_denied_service_marks_its_types_denied_and_others_stay_ok(
    estate: dict[str, Any], clients_for: Clients
) -> None:
    clients = clients_for()
    inject_error(clients("kms", R), "ListKeys", "AccessDeniedException", status=400)
    unsupported: set[tuple[str, str]] = set()
    kms_ctx = make_ctx(clients, A, R, unsupported)
    sqs_ctx = make_ctx(clients, A, R, unsupported)

    assert run(KmsCollector(), kms_ctx) == []
    queues = run(SqsCollector(), sqs_ctx)

    assert kms_ctx.coverage == {"kms:key": Coverage.DENIED}
    assert [(e.code, e.aws_code, e.operation) for e in kms_ctx.errors] == [
        ("access-denied", "AccessDeniedException", "ListKeys")
    ]
    assert queues and sqs_ctx.coverage.get("sqs:queue", Coverage.OK) is Coverage.OK
    assert unsupported == set()  # denied is not "not implemented"
