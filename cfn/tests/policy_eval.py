"""A small, strict model of what STS and IAM do with the policies of cfn/github-oidc.yaml,
for the claims GitHub would put in a job's token (test_trust_evaluator.py).

No local AWS enforces IAM, so the trust and permission policies are rendered from the
template with real parameter values (Ref, Fn::Sub, Fn::If, Fn::GetAtt) and evaluated
here with IAM's documented semantics:
- a statement applies when its Action (and Resource) patterns match and every condition
  operator holds; within an operator every key must hold (AND); a key holds when the
  request's value matches any of the listed values (OR); a key the request lacks (a
  claim the token does not carry) never holds;
- Null "true" holds when the key is absent, "false" when present;
- StringEquals is exact and case-sensitive; StringLike and Action/Resource patterns use
  `*` (any run of characters, `/` and `:` included) and `?` (one character); actions
  are case-insensitive;
- an explicit Deny wins over any Allow; nothing allowed means denied.
- set operators on a multi-valued key (a list in the request, e.g. Route 53's record
  names): ForAllValues:OP holds when every value matches (and when the key is absent:
  IAM's trap, which a Null "false" beside it closes), ForAnyValue:OP when one does
  (never when absent); in a trust policy's Allow they are refused outright.
Anything else (another operator, a single-valued operator on a list, an unknown
intrinsic) raises instead of guessing, so a template change this model cannot judge
fails the tests rather than passing them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PARTITION = "aws"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
PSEUDO = {"AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::StackName": "bootstrap"}


class Unmodelled(Exception):
    """The policy uses something this model does not evaluate."""


def physical_ids(template: dict[str, Any]) -> dict[str, str]:
    """What Ref and Fn::GetAtt .Arn give for each resource, as CloudFormation would name it."""
    ids = {}
    for name, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind == "AWS::IAM::Role":
            ids[name] = f"arn:{PARTITION}:iam::{ACCOUNT}:role/bootstrap-{name}-ABC123"
        elif kind == "AWS::IAM::ManagedPolicy":
            ids[name] = f"arn:{PARTITION}:iam::{ACCOUNT}:policy/bootstrap-{name}-ABC123"
        elif kind == "AWS::IAM::OIDCProvider":
            ids[name] = f"arn:{PARTITION}:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
        else:
            raise Unmodelled(f"no physical id for {kind}")
    return ids


def render(template: dict[str, Any], given: Mapping[str, str]) -> dict[str, Any]:
    """The template's Resources with every intrinsic resolved for these parameter values."""
    values = {name: given.get(name, spec.get("Default")) for name, spec in template["Parameters"].items()}
    missing = sorted(name for name, value in values.items() if value is None)
    if missing:
        raise ValueError(f"no value for the parameters {missing}")
    for name, spec in template["Parameters"].items():
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, str(values[name])):
            raise ValueError(f"{name}={values[name]!r} breaks its AllowedPattern: CloudFormation would refuse it")
    ids = physical_ids(template)
    refs = {**PSEUDO, **{k: str(v) for k, v in values.items()}, **ids}
    conditions: dict[str, bool] = {}

    def condition(name: str) -> bool:
        if name not in conditions:
            conditions[name] = bool(resolve(template["Conditions"][name]))
        return conditions[name]

    no_value = object()  # `!Ref AWS::NoValue`: the element or key is left out

    def resolve(node: Any) -> Any:
        if isinstance(node, list):
            return [r for r in (resolve(n) for n in node) if r is not no_value]
        if not isinstance(node, dict):
            return node
        if len(node) != 1 or not next(iter(node)).startswith(("Fn::", "Ref")):
            return {k: r for k, r in ((k, resolve(v)) for k, v in node.items()) if r is not no_value}
        [(function, argument)] = node.items()
        if function == "Ref":
            return no_value if argument == "AWS::NoValue" else refs[argument]
        if function == "Fn::GetAtt":
            resource, attribute = argument
            if attribute != "Arn":
                raise Unmodelled(f"Fn::GetAtt {resource}.{attribute}")
            return ids[resource]
        if function == "Fn::Sub":
            text, local = (argument, {}) if isinstance(argument, str) else (argument[0], resolve(argument[1]))
            return re.sub(r"\$\{([^}]+)\}", lambda m: str({**refs, **local}[m.group(1)]), text)
        if function == "Fn::If":
            name, when_true, when_false = argument
            return resolve(when_true if condition(name) else when_false)
        if function == "Fn::Equals":
            left, right = resolve(argument)
            return left == right
        if function == "Fn::Not":
            return not resolve(argument[0])
        raise Unmodelled(function)

    return {
        name: resolve(resource)
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or condition(resource["Condition"])
    }


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


OPERATORS = {
    "StringEquals": lambda wanted, got: wanted == got,
    "StringLike": _like,
    "ArnLike": _like,
    "ArnEquals": lambda wanted, got: wanted == got,
}


Context = Mapping[str, "str | list[str]"]


def conditions_hold(conditions: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    """Every operator, every key in it (AND); any listed value per key (OR); absent key: false
    (except for Null, which asks exactly that: "true" holds when the key is absent, and
    ForAllValues:, which holds then)."""
    for operator, keys in conditions.items():
        if operator.startswith(("ForAllValues:", "ForAnyValue:")):
            qualifier, _, inner = operator.partition(":")
            if inner not in OPERATORS:
                raise Unmodelled(f"condition operator {operator}")
            for key, wanted in keys.items():
                if key not in context:
                    if qualifier == "ForAnyValue":
                        return False
                    continue
                got = _listed(context[key])
                matches = [any(OPERATORS[inner](str(w), g) for w in _listed(wanted)) for g in got]
                if not (all(matches) if qualifier == "ForAllValues" else any(matches)):
                    return False
            continue
        if operator == "Null":
            for key, wanted in keys.items():
                if str(wanted).lower() not in ("true", "false"):
                    raise Unmodelled(f"Null {key}: {wanted!r}")
                if (key not in context) != (str(wanted).lower() == "true"):
                    return False
            continue
        if operator not in OPERATORS:
            raise Unmodelled(f"condition operator {operator}")
        for key, wanted in keys.items():
            if key not in context:
                return False
            if isinstance(context[key], list):
                raise Unmodelled(f"{operator} on the multi-valued key {key}: use ForAllValues/ForAnyValue")
            if not any(OPERATORS[operator](str(w), context[key]) for w in _listed(wanted)):
                return False
    return True


def _statement_applies(statement: Mapping[str, Any], action: str, resource: str | None, context: Context) -> bool:
    if "NotAction" in statement or "NotResource" in statement or "NotPrincipal" in statement:
        raise Unmodelled("NotAction/NotResource/NotPrincipal")
    if not any(_like(p, action, case_sensitive=False) for p in _listed(statement["Action"])):
        return False
    if resource is not None and not any(_like(p, resource) for p in _listed(statement["Resource"])):
        return False
    return conditions_hold(statement.get("Condition") or {}, context)


def allowed(statements: list[Mapping[str, Any]], action: str, resource: str | None, context: Context) -> bool:
    """IAM's answer for one request against one identity policy (explicit Deny wins)."""
    applying = [s for s in statements if _statement_applies(s, action, resource, context)]
    return any(s["Effect"] == "Allow" for s in applying) and not any(s["Effect"] == "Deny" for s in applying)


def may_assume(trust: Mapping[str, Any], provider_arn: str, claims: Mapping[str, str] | None) -> bool:
    """STS's answer to AssumeRoleWithWebIdentity with a token carrying these claims (None:
    no token at all, as for a pull request from a fork)."""
    if claims is None:
        return False
    context = {f"token.actions.githubusercontent.com:{k}": v for k, v in claims.items()}
    applying = []
    for statement in trust["Statement"]:
        for operator in statement.get("Condition") or {}:
            if operator.startswith(("ForAllValues:", "ForAnyValue:")) and statement["Effect"] == "Allow":
                raise Unmodelled(f"{operator} in an Allow: true when the claim is absent; use StringEquals")
        principal = (statement.get("Principal") or {}).get("Federated")
        if principal != provider_arn:
            continue
        if _statement_applies(statement, "sts:AssumeRoleWithWebIdentity", None, context):
            applying.append(statement)
    return any(s["Effect"] == "Allow" for s in applying) and not any(s["Effect"] == "Deny" for s in applying)
