#!/usr/bin/env python3
"""Create the DynamoDB table declared in template.yaml on a local endpoint.

Usage: create_table.py --endpoint http://127.0.0.1:8000 --table-name licensing

The table definition is read from the template so that local development and
tests always use the same keys and indexes as the deployed stack.
"""

import argparse
import os
import sys
from pathlib import Path

import boto3
import yaml
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that accepts CloudFormation short tags (!Ref, !Sub, ...)."""


def _any_tag(loader, _suffix, node):
    # The values behind the tags are not needed here, only the plain
    # table properties, so each tagged node is loaded as plain data.
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


CfnLoader.add_multi_constructor("!", _any_tag)


def table_properties(template_path):
    with open(template_path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=CfnLoader)
    tables = [
        (name, res.get("Properties", {}))
        for name, res in (template.get("Resources") or {}).items()
        if res.get("Type") == "AWS::DynamoDB::Table"
    ]
    if len(tables) != 1:
        sys.exit(f"expected exactly one AWS::DynamoDB::Table in {template_path}, found {len(tables)}")
    return tables[0][1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="e.g. http://127.0.0.1:8000")
    parser.add_argument("--table-name", required=True)
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    args = parser.parse_args()

    # DynamoDB Local accepts any credentials; set dummies so that a machine
    # without an AWS profile works, without overriding real ones.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    client = boto3.client("dynamodb", endpoint_url=args.endpoint, region_name=region)

    props = table_properties(args.template)
    request = {"TableName": args.table_name}
    for key in (
        "AttributeDefinitions",
        "KeySchema",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
        "BillingMode",
        "ProvisionedThroughput",
    ):
        if props.get(key):
            request[key] = props[key]

    try:
        client.create_table(**request)
    except ClientError as e:
        if e.response["Error"]["Code"] == "ResourceInUseException":
            print(f"table {args.table_name} already exists at {args.endpoint}")
            return
        raise
    client.get_waiter("table_exists").wait(
        TableName=args.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )

    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        client.update_time_to_live(
            TableName=args.table_name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    print(f"created table {args.table_name} at {args.endpoint}")


if __name__ == "__main__":
    main()
