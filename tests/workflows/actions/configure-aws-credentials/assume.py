"""The configure-aws-credentials stand-in's work (see action.yml beside this file)."""

import json
import os
import re
import sys

import boto3

role = os.environ.get("ROLE_TO_ASSUME", "")
region = os.environ.get("AWS_REGION_INPUT", "")
session = os.environ.get("ROLE_SESSION_NAME", "") or "GitHubActions"
duration_text = os.environ.get("ROLE_DURATION_SECONDS", "") or "3600"
endpoint = os.environ.get("STANDIN_AWS_ENDPOINT_URL", "")
records = os.environ.get("STANDIN_RECORD_DIR", "")
if not endpoint or not records:
    sys.exit("the act test must pass --env STANDIN_AWS_ENDPOINT_URL=URL and --env STANDIN_RECORD_DIR=DIR")

os.makedirs(records, exist_ok=True)
with open(os.path.join(records, "configure-aws-credentials.jsonl"), "a", encoding="utf-8") as f:
    f.write(
        json.dumps(
            {
                "role-to-assume": role,
                "aws-region": region,
                "role-session-name": session,
                "role-duration-seconds": duration_text,
            }
        )
        + "\n"
    )


def fail(message: str) -> None:
    # The real action's failures are annotations too.
    print(f"::error::{message}")
    sys.exit(1)


# The checks STS itself makes before it looks at the role.
if not region:
    fail("Input required and not supplied: aws-region")
if not role:
    fail("Credentials could not be loaded, please check your action inputs: role-to-assume is empty")
if not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+", role):
    fail(f"role-to-assume is not a role ARN: {role}")
if not re.fullmatch(r"[\w+=,.@-]{2,64}", session):
    fail(f"role-session-name is not a valid session name: {session}")
if not duration_text.isdigit() or not 900 <= int(duration_text) <= 43200:
    fail(f"role-duration-seconds must be 900..43200, got {duration_text}")

sts = boto3.client(
    "sts", endpoint_url=endpoint, region_name=region, aws_access_key_id="unused", aws_secret_access_key="unused"
)
answer = sts.assume_role_with_web_identity(
    RoleArn=role,
    RoleSessionName=session,
    WebIdentityToken="act-stand-in-oidc-token",
    DurationSeconds=int(duration_text),
)
creds = answer["Credentials"]
account = role.split(":")[4]
with open(os.environ["GITHUB_ENV"], "a", encoding="utf-8") as f:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", creds["AccessKeyId"]),
        ("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"]),
        ("AWS_SESSION_TOKEN", creds["SessionToken"]),
        ("AWS_REGION", region),
        ("AWS_DEFAULT_REGION", region),
        ("AWS_ENDPOINT_URL", endpoint),
    ):
        f.write(f"{name}={value}\n")
with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as f:
    f.write(f"aws-account-id={account}\n")
print(f"assumed {role} on the local AWS as session {session} for {duration_text}s")
