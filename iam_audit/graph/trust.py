"""Trust policies: which callers each role's trust names (an index by account, ARN, session and
unique id), the parties only seen named there, and one trust policy's verdict for one caller."""

from __future__ import annotations

from iam_audit.graph.building import GraphBuilder
from iam_audit.graph.nodes import (
    _ACCOUNT_ID,
    _ARN,
    ASSUME_ROLE,
    PRINCIPAL_KEYS,
    Principal,
    name_of,
)
from iam_audit.policy.conditions import Requirement
from iam_audit.policy.evaluate import resolve_conditions
from iam_audit.policy.model import (
    ALLOW,
    DENY,
    PrincipalRef,
    Statement,
)


class GraphTrust(GraphBuilder):
    """Trust policies: who each role's trust names, and its verdict for one caller."""

    # ------------------------------------------------------------------ trust
    def _principal_match(self, ref: PrincipalRef, caller: Principal) -> tuple[bool, bool]:
        """(named?, named directly?) for one Principal entry of a trust statement."""
        if ref.kind == "anyone":
            return True, True
        if ref.kind != "aws":
            return False, False
        value = ref.value
        if _ACCOUNT_ID.match(value):
            return value == caller.account_id, False
        m = _ARN.match(value)
        if not m:
            return bool(caller.unique_id) and value == caller.unique_id, True
        account, resource = m.group("account"), m.group("resource")
        if resource == "root":
            return account == caller.account_id, False
        if value == caller.arn:
            return True, True
        if m.group("service") == "sts" and resource.startswith("assumed-role/") and caller.kind == "role":
            role_name = resource.split("/")[1] if resource.count("/") >= 1 else ""
            return account == caller.account_id and role_name == caller.name, True
        return False, False

    def _trust_for(
        self, role: Principal, caller: Principal
    ) -> tuple[Statement, bool, tuple[Requirement, ...]] | None:
        """The trust statement that lets ``caller`` assume ``role`` (and its conditions), or None."""
        sensitive = role.arn in self._trust_sensitive
        key = (role.arn, caller.arn if sensitive else (caller.account_id, caller.kind, caller.inside))
        if key in self._trust_cache:
            return self._trust_cache[key]
        result = self._trust_eval(role, caller)
        self._trust_cache[key] = result
        return result

    def _trust_eval(
        self, role: Principal, caller: Principal
    ) -> tuple[Statement, bool, tuple[Requirement, ...]] | None:
        if role.trust is None:
            return None
        allows: list[tuple[Statement, bool, tuple[Requirement, ...]]] = []
        deny_reqs: list[Requirement] = []
        for st in role.trust.statements:
            if st.effect not in (ALLOW, DENY) or not st.matches_action(ASSUME_ROLE):
                continue
            named = direct = False
            for ref in st.principals:
                n, d = self._principal_match(ref, caller)
                if n:
                    named = True
                    direct = direct or d
            if st.not_principal:
                named, direct = not named, False
            if not named:
                continue
            applies, reqs = resolve_conditions(st, caller.context, f"trust policy {st.label}")
            if not applies:
                continue
            if st.is_deny:
                if not reqs:
                    return None
                deny_reqs.extend(reqs)
            else:
                allows.append((st, direct, reqs))
        if not allows:
            return None
        st, direct, reqs = min(allows, key=lambda a: (not a[1], len(a[2])))
        return st, direct, tuple(dict.fromkeys((*reqs, *deny_reqs)))

    def _index_trust(self, role: Principal) -> None:
        if role.trust is None:
            return
        services: list[str] = []
        for st in role.trust.statements:
            if not st.is_allow:
                continue
            if any(c.name in PRINCIPAL_KEYS for c in st.conditions) or st.not_principal:
                self._trust_sensitive.add(role.arn)
            if st.not_principal:
                self._trust_anyone.add(role.arn)
                continue
            for ref in st.principals:
                if ref.kind == "service":
                    services.append(ref.value)
                elif ref.kind == "anyone":
                    self._trust_anyone.add(role.arn)
                elif ref.kind == "aws":
                    self._index_aws_ref(role, ref.value)
                elif ref.kind == "federated":
                    self._ensure_federated(ref.value)
        role.trusted_services = tuple(dict.fromkeys(services))

    def _index_aws_ref(self, role: Principal, value: str) -> None:
        if _ACCOUNT_ID.match(value):
            self._trust_by_account[value].add(role.arn)
            self._ensure_account_root(value)
            return
        m = _ARN.match(value)
        if not m:
            self._trust_by_id[value].add(role.arn)
            self._trust_sensitive.add(role.arn)
            return
        account, resource = m.group("account"), m.group("resource")
        if resource == "root":
            self._trust_by_account[account].add(role.arn)
            self._ensure_account_root(account)
            return
        self._trust_sensitive.add(role.arn)
        if m.group("service") == "sts" and resource.startswith("assumed-role/"):
            parts = resource.split("/")
            if len(parts) >= 2:
                self._trust_by_session[(account, parts[1])].add(role.arn)
        else:
            self._trust_by_arn[value].add(role.arn)
        self._ensure_party(account, value)

    def _ensure_party(self, account: str, arn: str) -> None:
        """A node for an account (or a principal in it) we did not collect."""
        if not account or account in self.estate.accounts:
            return
        root = f"arn:aws:iam::{account}:root"
        inside = self.estate.inside(account)
        kind = "account" if inside else "external"
        if root not in self.principals:
            p = Principal(root, kind, account, account, inside=inside)
            self._prepare(p)
            self.principals[root] = p
        if arn and arn not in self.principals:
            p = Principal(arn, kind, name_of(arn), account, inside=inside)
            self._prepare(p)
            p.context["aws:principalarn"] = arn
            self.principals[arn] = p

    def _ensure_account_root(self, account: str) -> None:
        """A node for an account whose root a trust names, collected or not.

        A trust in the root delegates to the account's identity policies: every principal it
        authorises, today or tomorrow, can assume the role. The root is therefore a source of its
        own even when the account's users and roles are nodes too.
        """
        if account not in self.estate.accounts:
            self._ensure_party(account, "")
            return
        root = f"arn:aws:iam::{account}:root"
        if root not in self.principals:
            inside = self.estate.inside(account)
            p = Principal(root, "account" if inside else "external", account, account, inside=inside)
            self._prepare(p)
            self.principals[root] = p

    def _ensure_federated(self, value: str) -> None:
        if value in self.principals:
            return
        m = _ARN.match(value)
        account = m.group("account") if m else ""
        p = Principal(
            value,
            "federated",
            name_of(value) if m else value,
            account,
            inside=self.estate.inside(account) if account else False,
        )
        self._prepare(p)
        self.principals[value] = p
