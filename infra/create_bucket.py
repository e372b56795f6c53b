#!/usr/bin/env python3
"""Create the S3 bucket declared in template.yaml on a local endpoint.

Usage: create_bucket.py --endpoint http://127.0.0.1:8007 --bucket licensing-files

Its encryption, public access block, object ownership and lifecycle rules are
read from the template's AWS::S3::Bucket and applied through the S3 API, so
local development and tests read back what the deployed bucket has.
"""

import argparse
import os
import sys
from pathlib import Path

import boto3
import yaml
from botocore.exceptions import ClientError

from create_table import CfnLoader

ROOT = Path(__file__).resolve().parent.parent


def bucket_properties(template_path):
    with open(template_path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=CfnLoader)
    buckets = [
        res.get("Properties", {})
        for res in (template.get("Resources") or {}).values()
        if res.get("Type") == "AWS::S3::Bucket"
    ]
    if len(buckets) != 1:
        sys.exit(f"expected exactly one AWS::S3::Bucket in {template_path}, found {len(buckets)}")
    return buckets[0]


# CloudFormation's property names are not the S3 API's: each translation below
# takes what the template uses and refuses the rest, rather than drop it silently.


def encryption(props):
    rules = []
    for rule in props["ServerSideEncryptionConfiguration"]:
        unknown = set(rule) - {"ServerSideEncryptionByDefault", "BucketKeyEnabled"}
        if unknown:
            sys.exit(f"BucketEncryption: cannot apply {sorted(unknown)} locally")
        api = {"ApplyServerSideEncryptionByDefault": dict(rule["ServerSideEncryptionByDefault"])}
        if "BucketKeyEnabled" in rule:
            api["BucketKeyEnabled"] = rule["BucketKeyEnabled"]
        rules.append(api)
    return {"Rules": rules}


def lifecycle(props):
    rules = []
    for rule in props["Rules"]:
        unknown = set(rule) - {"Id", "Status", "Prefix", "ExpirationInDays", "AbortIncompleteMultipartUpload"}
        if unknown:
            sys.exit(f"LifecycleConfiguration: cannot apply {sorted(unknown)} locally")
        # A rule without a prefix covers the whole bucket.
        api = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
        if "Id" in rule:
            api["ID"] = rule["Id"]
        if "ExpirationInDays" in rule:
            api["Expiration"] = {"Days": rule["ExpirationInDays"]}
        if "AbortIncompleteMultipartUpload" in rule:
            api["AbortIncompleteMultipartUpload"] = dict(rule["AbortIncompleteMultipartUpload"])
        rules.append(api)
    return {"Rules": rules}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="e.g. http://127.0.0.1:8007")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    args = parser.parse_args()

    # The local server accepts any credentials; dummies let a machine without
    # an AWS profile work, without overriding real ones.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    s3 = boto3.client("s3", endpoint_url=args.endpoint, region_name=region)

    props = bucket_properties(args.template)
    unknown = set(props) - {
        "BucketEncryption",
        "PublicAccessBlockConfiguration",
        "OwnershipControls",
        "LifecycleConfiguration",
    }
    if unknown:
        sys.exit(f"the template's bucket has {sorted(unknown)}, which {Path(__file__).name} does not apply")

    create = {"Bucket": args.bucket}
    if region != "us-east-1":  # us-east-1 refuses a location constraint naming itself
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**create)
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
        print(f"bucket {args.bucket} already exists at {args.endpoint}")

    if "BucketEncryption" in props:
        s3.put_bucket_encryption(
            Bucket=args.bucket, ServerSideEncryptionConfiguration=encryption(props["BucketEncryption"])
        )
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=args.bucket, PublicAccessBlockConfiguration=dict(props["PublicAccessBlockConfiguration"])
        )
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=args.bucket, OwnershipControls=dict(props["OwnershipControls"]))
    if "LifecycleConfiguration" in props:
        s3.put_bucket_lifecycle_configuration(
            Bucket=args.bucket, LifecycleConfiguration=lifecycle(props["LifecycleConfiguration"])
        )
    print(f"created bucket {args.bucket} at {args.endpoint}")


if __name__ == "__main__":
    main()
