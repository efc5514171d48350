"""What clients share to be cheap (inventory.aws.clientcost) must not change what they do.

The handler trie is checked against botocore's own, operation by operation; the clients of a sharing
session against those of a plain botocore session: the same endpoints, the same requests, and no
handler of one client reaching another.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.hooks import _PrefixTrie
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.aws.clientcost import SharedTrie, SharingAliaser, SharingEmitter, SharingSession
from inventory.aws.session import AwsSettings, botocore_config

PARTS = ["before-call", "after-call", "ec2", "s3", "*", "DescribeVpcs", "ListBuckets"]
keys = st.lists(st.sampled_from(PARTS), min_size=1, max_size=3).map(".".join)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(0, 3), keys, st.integers(0, 5), st.integers(0, 2)),
        st.tuples(st.just("remove"), st.integers(0, 3), keys, st.integers(0, 5)),
        st.tuples(st.just("copy"), st.integers(0, 3)),
        st.tuples(st.just("search"), st.integers(0, 3), keys),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_the_shared_trie_behaves_as_botocores_own_through_any_mix_of_writes_and_copies(
    ops: list[tuple[Any, ...]],
) -> None:
    """Pairs (botocore's trie, ours) go through the same operations; copies fork both. Every search
    finds the same handlers in the same order, so a write to a copy never reaches its original."""
    pairs: list[tuple[_PrefixTrie, SharedTrie]] = [(_PrefixTrie(), SharedTrie())]
    for op in ops:
        reference, ours = pairs[op[1] % len(pairs)]
        if op[0] == "append":
            _, _, key, value, section = op
            reference.append_item(key, value, section)
            ours.append_item(key, value, section)
        elif op[0] == "remove":
            _, _, key, value = op
            try:
                reference.remove_item(key, value)
            except (ValueError, AttributeError):  # botocore: AttributeError where a path has no handlers
                with pytest.raises(ValueError):
                    ours.remove_item(key, value)
            else:
                ours.remove_item(key, value)
        elif op[0] == "copy":
            pairs.append((copy.copy(reference), copy.copy(ours)))
        else:
            assert list(ours.prefix_search(op[2])) == list(reference.prefix_search(op[2]))
    for reference, ours in pairs:
        for key in ("before-call.ec2.DescribeVpcs", "after-call.s3.ListBuckets", "ec2", "*.*.*"):
            assert list(ours.prefix_search(key)) == list(reference.prefix_search(key))


def test_a_copy_of_the_trie_shares_its_nodes_until_one_of_them_writes() -> None:
    trie = SharedTrie()
    trie.append_item("before-call.ec2", "a")
    twin = copy.copy(trie)
    assert twin._root is trie._root
    twin.append_item("before-call.ec2", "b")
    twin.append_item("after-call.s3", "c")
    assert list(trie.prefix_search("before-call.ec2.X")) == ["a"]
    assert list(twin.prefix_search("before-call.ec2.X")) == ["a", "b"]
    assert list(trie.prefix_search("after-call.s3")) == []
    # nodes off the written path are still the same objects
    trie.append_item("needs-retry.sqs", "d")
    twin.append_item("needs-retry.sns", "e")
    assert twin._root["children"]["before-call"] is not trie._root["children"]["before-call"]
    assert twin._root["children"]["after-call"] is not None


def handler(**_: Any) -> None:
    return None


def no_kwargs(request: Any) -> None:
    return None


class CallableWithoutKwargs:
    def __call__(self, request: Any) -> None:
        return None


def test_the_emitter_still_refuses_handlers_without_kwargs_however_often_it_has_seen_their_kind() -> None:
    emitter = SharingEmitter()
    for _ in range(2):  # the second time, the memo of accepted handlers is warm
        emitter.register("before-call", handler)
        emitter.register("before-call", functools.partial(handler, extra=1))
        with pytest.raises(ValueError, match="keyword"):
            emitter.register("before-call", no_kwargs)
        with pytest.raises(ValueError, match="keyword"):
            emitter.register("before-call", functools.partial(no_kwargs))
        with pytest.raises(ValueError, match="keyword"):
            emitter.register("before-call", CallableWithoutKwargs())
    assert len(emitter._handlers.prefix_search("before-call")) == 4


def test_a_sharing_sessions_clients_share_the_alias_cache_and_nothing_they_register() -> None:
    session = SharingSession()
    session.set_credentials("AKIDEXAMPLE", "secret")
    assert type(session.get_component("event_emitter")) is SharingAliaser
    a, b = session.create_client("ec2", "eu-west-1"), session.create_client("ec2", "us-east-1")
    assert a.meta.events._alias_name_cache is b.meta.events._alias_name_cache
    seen: list[str] = []
    a.meta.events.register("probe.ec2", lambda **kw: seen.append("a"))
    b.meta.events.register("probe.ec2", lambda **kw: seen.append("b"))
    session.register("probe.ec2", lambda **kw: seen.append("session"))
    a.meta.events.emit("probe.ec2.DescribeVpcs")
    assert seen == ["a"]  # the session's later handler reaches only clients created after it
    session.create_client("ec2", "eu-west-1").meta.events.emit("probe.ec2.DescribeVpcs")
    assert seen == ["a", "session"]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def _capture(client: Any) -> list[str]:
    """Answer every request of ``client`` locally, keeping the URL it would have gone to."""
    urls: list[str] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        urls.append(request.url)
        return AWSResponse(request.url, 200, {}, _Raw(b"<ListBucketResult></ListBucketResult>"))

    client.meta.events.register("before-send", answer)
    return urls


CASES = [
    ("ec2", "eu-west-1"),
    ("ec2", "cn-north-1"),
    ("ec2", "us-gov-west-1"),
    ("s3", "us-east-1"),
    ("s3", "eu-central-1"),
    ("sts", "us-east-1"),
    ("iam", "us-east-1"),
    ("iam", "cn-north-1"),
    ("lambda", "ap-southeast-2"),
    ("securityhub", "sa-east-1"),
]


@pytest.mark.parametrize(("service", "region"), CASES)
def test_clients_of_a_sharing_session_resolve_the_endpoints_botocore_would(service: str, region: str) -> None:
    plain, sharing = botocore.session.Session(), SharingSession()
    sharing.register_component("data_loader", plain.get_component("data_loader"))  # one rule set
    for session in (plain, sharing):
        session.set_credentials("AKIDEXAMPLE", "secret")
    ours = sharing.create_client(service, region)
    again = sharing.create_client(service, region)
    theirs = plain.create_client(service, region)
    assert ours.meta.endpoint_url == theirs.meta.endpoint_url
    assert ours._ruleset_resolver._provider is again._ruleset_resolver._provider  # built once
    if service == "s3":  # endpoints that depend on each call's parameters come out the same too
        ours_urls, theirs_urls = _capture(ours), _capture(theirs)
        for client in (ours, theirs):
            client.list_objects(Bucket="example-bucket", Prefix="a")
            client.list_objects(Bucket="dotted.bucket.name")
        assert ours_urls == theirs_urls
        assert "example-bucket" in ours_urls[0]


def test_the_config_says_no_proxies_only_when_the_environment_has_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert botocore_config(AwsSettings()).proxies == {}
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert botocore_config(AwsSettings()).proxies is None  # botocore reads it, per endpoint


def test_the_memo_config_store_answers_as_botocores_own_and_honours_later_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from botocore.configprovider import create_botocore_default_config_mapping

    config = tmp_path / "config"
    config.write_text("[default]\ns3 =\n    addressing_style = path\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "7")
    plain, sharing = botocore.session.Session(), SharingSession()
    names = sorted(create_botocore_default_config_mapping(plain))
    theirs, ours = plain.get_component("config_store"), sharing.get_component("config_store")
    for _ in range(2):  # the second time from the memo
        assert [ours.get_config_variable(n) for n in names] == [theirs.get_config_variable(n) for n in names]
    assert ours.get_config_variable("max_attempts") == 7

    # what a caller does to a value it was given does not change what the next caller gets
    s3 = ours.get_config_variable("s3")
    s3["addressing_style"] = "virtual"
    assert ours.get_config_variable("s3") == theirs.get_config_variable("s3") == {"addressing_style": "path"}

    # a value set on the session wins, before and after clients were made
    sharing.set_credentials("AKIDEXAMPLE", "secret")
    sharing.create_client("ec2", "eu-west-1")
    sharing.set_config_variable("region", "eu-central-1")
    assert sharing.get_config_variable("region") == "eu-central-1"
    assert sharing.create_client("ec2").meta.region_name == "eu-central-1"

    # a provider a copy replaces (botocore does it for endpoint_url, per client) stays the copy's
    from botocore.configprovider import ConstantProvider

    twin = copy.copy(ours)
    twin.set_config_provider("max_attempts", ConstantProvider(2))
    assert (twin.get_config_variable("max_attempts"), ours.get_config_variable("max_attempts")) == (2, 7)
    assert copy.copy(twin).get_config_variable("max_attempts") == 2


def test_a_forked_child_does_not_use_its_parents_connections() -> None:
    """A Celery prefork child inherits the parent's memory, sockets included."""
    import os

    from inventory.aws import clientcost

    session = SharingSession()
    session.set_credentials("AKIDEXAMPLE", "secret")
    client = session.create_client("ec2", "eu-west-1", endpoint_url="http://127.0.0.1:9")
    assert client._endpoint.http_session in clientcost._HTTP_SESSIONS.values()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report how many sessions it inherited, and leave at once
        os.write(write, str(len(clientcost._HTTP_SESSIONS)).encode())
        os._exit(0)
    os.close(write)
    inherited = os.read(read, 16)
    os.waitpid(pid, 0)
    assert inherited == b"0"
    assert clientcost._HTTP_SESSIONS  # the parent keeps its own


def test_writes_to_one_trie_from_many_threads_at_once_are_all_kept() -> None:
    import sys
    import threading

    trie = SharedTrie()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch between any two bytecodes: races show

    def register(n: int) -> None:
        for i in range(200):
            trie.append_item(f"before-call.service{n % 4}.Op{i % 7}", (n, i))

    threads = [threading.Thread(target=register, args=(n,)) for n in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    kept = [
        item
        for s in range(4)
        for i in range(7)
        for item in trie.prefix_search(f"before-call.service{s}.Op{i}")
    ]
    assert len(kept) == len(set(kept)) == 8 * 200
