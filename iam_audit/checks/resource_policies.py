"""Resource policies that let anyone in (Lambda, SQS, SNS, ECR, Secrets Manager, KMS), public Lambda
function URLs and public EKS endpoints."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from iam_audit.checks.base import Exposure, Result, Severity, Snapshot, Status, check
from iam_audit.checks.common import as_dict, label, resource_result, truthy, unread_result
from iam_audit.checks.network import is_internet
from iam_audit.policy.grants import public_grants

_STEPS = (
    "1. Replace Principal '*' with the accounts, roles or service principals that need access, or add a condition "
    "narrowing it (aws:PrincipalOrgID, aws:SourceArn, aws:SourceAccount, aws:SourceVpce).\n"
)

# (id, type, service, data key holding the policy, noun, doc URL, CLI to fix, console path)
_PUBLIC_POLICY_CHECKS = (
    (
        "lambda.public_policy",
        "lambda:function",
        "Lambda",
        "Policy",
        "function",
        "https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html",
        "aws lambda remove-permission --function-name <fn> --statement-id <sid>",
        "Lambda > Functions > <fn> > Configuration > Permissions > Resource-based policy statements",
    ),
    (
        "sqs.public_policy",
        "sqs:queue",
        "SQS",
        "Policy",
        "queue",
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html",
        "aws sqs set-queue-attributes --queue-url <url> --attributes Policy=file://policy.json",
        "SQS > Queues > <queue> > Access policy > Edit",
    ),
    (
        "sns.public_policy",
        "sns:topic",
        "SNS",
        "Policy",
        "topic",
        "https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html",
        "aws sns set-topic-attributes --topic-arn <arn> --attribute-name Policy --attribute-value file://policy.json",
        "SNS > Topics > <topic> > Edit > Access policy",
    ),
    (
        "ecr.public_policy",
        "ecr:repository",
        "ECR",
        "Policy",
        "repository",
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html",
        "aws ecr set-repository-policy --repository-name <repo> --policy-text file://policy.json (or delete-repository-policy)",
        "ECR > Repositories > <repo> > Permissions > Edit policy JSON",
    ),
    (
        "secretsmanager.public_policy",
        "secretsmanager:secret",
        "Secrets Manager",
        "ResourcePolicy",
        "secret",
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_resource-policies.html",
        "aws secretsmanager put-resource-policy --secret-id <id> --resource-policy file://policy.json --block-public-policy",
        "Secrets Manager > Secrets > <secret> > Resource permissions > Edit permissions",
    ),
    (
        "kms.public_policy",
        "kms:key",
        "KMS",
        "Policy",
        "key",
        "https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html",
        "aws kms put-key-policy --key-id <key> --policy-name default --policy file://policy.json",
        "KMS > Customer managed keys > <key> > Key policy > Edit",
    ),
)

# resource type -> the data key holding its resource policy (what "public policy" reads)
POLICY_KEYS: dict[str, str] = {row[1]: row[3] for row in _PUBLIC_POLICY_CHECKS}


def _make_public_policy_check(type_: str, key: str, noun: str) -> Callable[[Snapshot], Iterable[Result]]:
    def run(snap: Snapshot) -> Iterator[Result]:
        for item in sorted(snap.of(type_), key=lambda i: i.arn):
            if (unread := unread_result(item, (key,))) is not None:
                yield unread
                continue
            grants = public_grants(as_dict(item.data).get(key))
            if grants:
                where = grants[0]["sid"] or f"#{grants[0]['index']}"
                yield resource_result(
                    item,
                    Status.FAIL,
                    f"{noun.capitalize()} {label(item)} policy allows everyone (statement {where})",
                    {"statements": grants},
                    Exposure.PUBLIC,
                )
            else:
                yield resource_result(
                    item, Status.PASS, f"{noun.capitalize()} {label(item)} policy is not public"
                )

    run.__name__ = f"public_policy_{noun}"
    return run


for _id, _type, _service, _key, _noun, _doc, _cli, _console in _PUBLIC_POLICY_CHECKS:
    check(
        id=_id,
        title=f"No {_service} {_noun} policy allows everyone",
        service=_service,
        scope="resource",
        severity=Severity.CRITICAL,
        description=f"A {_service} {_noun}'s resource policy allows Principal '*' without a condition narrowing who may use it.",
        risk=f"Anyone with an AWS account (or anyone at all) can use the {_noun} as the policy allows.",
        remediation=_STEPS + f"2. {_cli}\nConsole: {_console}.",
        references=(_doc, "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-resources.html"),
        requires=(_type,),
    )(_make_public_policy_check(_type, _key, _noun))


@check(
    id="lambda.public_url",
    title="Lambda function URLs require IAM auth",
    service="Lambda",
    scope="resource",
    severity=Severity.MEDIUM,
    description="A Lambda function has a function URL with AuthType NONE: anyone on the internet can invoke it.",
    risk="Unauthenticated invocation: abuse, cost, and whatever the function's role can reach.",
    remediation=(
        "1. If the function is not meant to be public: aws lambda update-function-url-config --function-name <fn> --auth-type AWS_IAM\n"
        "2. Or remove the URL: aws lambda delete-function-url-config --function-name <fn>\n"
        "Console: Lambda > Functions > <fn> > Configuration > Function URL > Edit."
    ),
    references=("https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html",),
    requires=("lambda:function",),
)
def lambda_public_url(snap: Snapshot) -> Iterator[Result]:
    for fn in sorted(snap.of("lambda:function"), key=lambda i: i.arn):
        if (unread := unread_result(fn, ("FunctionUrl",))) is not None:
            yield unread
            continue
        url = as_dict(fn.data).get("FunctionUrl")
        if not url:
            continue  # no URL: not a subject
        evidence = {
            "FunctionUrl": as_dict(url).get("FunctionUrl"),
            "AuthType": as_dict(url).get("AuthType"),
            "Cors": as_dict(url).get("Cors"),
        }
        if str(as_dict(url).get("AuthType", "")).upper() == "NONE":
            yield resource_result(
                fn,
                Status.FAIL,
                f"Function {label(fn)} has a public URL (AuthType NONE)",
                evidence,
                Exposure.INTERNET,
            )
        else:
            yield resource_result(fn, Status.PASS, f"Function {label(fn)} URL requires IAM auth", evidence)


@check(
    id="eks.public_endpoint",
    title="EKS API endpoints are not open to the internet",
    service="EKS",
    scope="resource",
    severity=Severity.MEDIUM,
    description="An EKS cluster's Kubernetes API endpoint is public and accepts 0.0.0.0/0.",
    risk="The cluster API is exposed to credential stuffing and to any vulnerability in the API server.",
    remediation=(
        "1. aws eks update-cluster-config --name <cluster> --resources-vpc-config "
        "endpointPrivateAccess=true,endpointPublicAccess=false (or publicAccessCidrs=<office/VPN CIDRs>)\n"
        "Console: EKS > Clusters > <cluster> > Networking > Manage endpoint access."
    ),
    references=("https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html",),
    requires=("eks:cluster",),
)
def eks_public_endpoint(snap: Snapshot) -> Iterator[Result]:
    for cluster in sorted(snap.of("eks:cluster"), key=lambda i: i.arn):
        cfg = as_dict(as_dict(cluster.data).get("resourcesVpcConfig"))
        cidrs = cfg.get("publicAccessCidrs")
        cidrs = cidrs if isinstance(cidrs, list) else ["0.0.0.0/0"]  # AWS's default when public
        evidence = {
            "endpointPublicAccess": cfg.get("endpointPublicAccess"),
            "endpointPrivateAccess": cfg.get("endpointPrivateAccess"),
            "publicAccessCidrs": cidrs,
        }
        if truthy(cfg.get("endpointPublicAccess")) and any(is_internet(c) for c in cidrs):
            yield resource_result(
                cluster,
                Status.FAIL,
                f"EKS cluster {label(cluster)} API is open to the internet",
                evidence,
                Exposure.INTERNET,
            )
        else:
            yield resource_result(
                cluster, Status.PASS, f"EKS cluster {label(cluster)} API is private or restricted", evidence
            )
