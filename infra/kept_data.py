"""The data an installation keeps: the tables and the bucket, which the template marks
`DeletionPolicy: Retain` so that deleting the stack leaves them.  Which they are, whether they
exist, and removing them for good (the bucket emptied first) when asked to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from cfnlint.decode import cfn_yaml

from infra.stack import TEMPLATE

TABLE = "AWS::DynamoDB::Table"
BUCKET = "AWS::S3::Bucket"
NAME_PROPERTY = {TABLE: "TableName", BUCKET: "BucketName"}


@dataclass(frozen=True)
class Kept:
    kind: str  # TABLE or BUCKET
    name: str

    def __str__(self) -> str:
        return f"{'table' if self.kind == TABLE else 'bucket'} {self.name}"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    template: dict[str, Any] = cfn_yaml.loads(path.read_text())
    return template


def retained(template: dict[str, Any]) -> dict[str, str]:
    """Logical id -> type of every resource the stack leaves behind when deleted."""
    found = {
        logical: resource["Type"]
        for logical, resource in template["Resources"].items()
        if resource.get("DeletionPolicy") == "Retain"
    }
    unknown = {kind for kind in found.values() if kind not in NAME_PROPERTY}
    if unknown:
        raise ValueError(f"the template retains {sorted(unknown)}, which destroy cannot remove")
    return found


def of_stack(cfn: Any, stack: str, template: dict[str, Any]) -> list[Kept]:
    """The retained resources of a standing stack, by the names it gave them."""
    kinds = retained(template)
    resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
    return [
        Kept(kinds[r["LogicalResourceId"]], r["PhysicalResourceId"])
        for r in resources
        if r.get("LogicalResourceId") in kinds and r.get("PhysicalResourceId")
    ]


def by_template(template: dict[str, Any], values: dict[str, str]) -> list[Kept]:
    """The names the template gives the retained resources, for when there is no stack to ask.

    `values` holds the parameters and the pseudo parameters (AWS::AccountId, AWS::Region)."""
    values = {
        name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
    } | values
    kept = []
    for logical, kind in retained(template).items():
        name = template["Resources"][logical]["Properties"][NAME_PROPERTY[kind]]
        if isinstance(name, dict) and "Fn::Sub" in name:
            name = re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], name["Fn::Sub"])
        kept.append(Kept(kind, str(name)))
    return kept


def expected(session: Any, parameters: dict[str, str]) -> list[Kept]:
    """The retained resources the template names for these parameters in this account and region."""
    account = session.client("sts").get_caller_identity()["Account"]
    values = parameters | {"AWS::AccountId": account, "AWS::Region": session.region_name}
    return by_template(load_template(), values)


def existing(session: Any, kept: list[Kept]) -> list[Kept]:
    """Those of `kept` that exist in the account."""
    dynamodb, s3 = session.client("dynamodb"), session.client("s3")
    found = []
    for resource in kept:
        try:
            if resource.kind == TABLE:
                dynamodb.describe_table(TableName=resource.name)
            else:
                s3.head_bucket(Bucket=resource.name)
        except ClientError as error:
            if _missing(error):
                continue
            raise
        found.append(resource)
    return found


def remove(session: Any, kept: list[Kept]) -> list[Kept]:
    """Delete the tables and the bucket (emptied first, every version); returns what was removed."""
    dynamodb, s3 = session.client("dynamodb"), session.client("s3")
    removed = []
    for resource in kept:
        try:
            if resource.kind == TABLE:
                dynamodb.delete_table(TableName=resource.name)
            else:
                _empty(s3, resource.name)
                s3.delete_bucket(Bucket=resource.name)
        except ClientError as error:
            if _missing(error):
                continue
            raise
        removed.append(resource)
    return removed


def _empty(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(objects), 1000):
            batch = {"Objects": objects[start : start + 1000], "Quiet": True}
            errors = s3.delete_objects(Bucket=bucket, Delete=batch).get("Errors", [])
            if errors:
                raise RuntimeError(f"bucket {bucket}: {len(errors)} objects not deleted, e.g. {errors[0]}")


def _missing(error: ClientError) -> bool:
    code = str(error.response.get("Error", {}).get("Code", ""))
    return code in {"ResourceNotFoundException", "NoSuchBucket", "404", "NotFound"}
