"""The digital files' bucket on the local stack (moto, at AWS_ENDPOINT_URL_S3)
is template.yaml's `FilesBucket`: infra/create_bucket.py made it from the
template, and what S3 reads back here is what the template declares. Presigned
URLs, signed as the functions will sign them (SigV4), work against it.

Needs only the stack (infra/stack.sh), not the API.
"""

import base64
import json
import os
import uuid

import boto3
import httpx
import pytest
from botocore.config import Config

from after_suite.test_least_privilege import template
from conftest import _env


@pytest.fixture(scope="module")
def s3():
    return boto3.client("s3", endpoint_url=_env("AWS_ENDPOINT_URL_S3"),
                        region_name=os.environ.get("AWS_REGION", "us-east-1"),
                        config=Config(signature_version="s3v4"))


@pytest.fixture(scope="module")
def bucket():
    return _env("FILES_BUCKET")


@pytest.fixture(scope="module")
def declared():
    return template()["Resources"]["FilesBucket"]["Properties"]


@pytest.fixture
def key(s3, bucket):
    """A fresh object key under `prefix`, deleted after the test."""
    made = []

    def fresh(prefix):
        made.append(f"{prefix}{uuid.uuid4().hex}.bin")
        return made[-1]

    yield fresh
    for name in made:
        s3.delete_object(Bucket=bucket, Key=name)


def test_the_bucket_exists(s3, bucket):
    s3.head_bucket(Bucket=bucket)


def test_encryption_is_the_templates(s3, bucket, declared):
    want = [{"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
             "BucketKeyEnabled": rule.get("BucketKeyEnabled", False)}
            for rule in declared["BucketEncryption"]["ServerSideEncryptionConfiguration"]]
    got = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert got == want


def test_public_access_is_blocked_as_the_template_says(s3, bucket, declared):
    want = declared["PublicAccessBlockConfiguration"]
    assert want == dict.fromkeys(("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"),
                                 True)
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == want


def test_object_ownership_is_the_templates(s3, bucket, declared):
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"] == declared["OwnershipControls"]


def test_lifecycle_is_the_templates(s3, bucket, declared):
    def as_api(rule):
        # CloudFormation's names for the S3 API's; no prefix is the whole bucket.
        api = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
        if "ExpirationInDays" in rule:
            api["Expiration"] = {"Days": rule["ExpirationInDays"]}
        if "AbortIncompleteMultipartUpload" in rule:
            api["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
        return api

    want = [as_api(rule) for rule in declared["LifecycleConfiguration"]["Rules"]]
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert sorted(got, key=lambda r: r["ID"]) == sorted(want, key=lambda r: r["ID"])
    # Presigned uploads land under uploads/ first: one never completed goes after a day.
    uploads = next(r for r in want if r["Filter"]["Prefix"] == "uploads/")
    assert uploads["Expiration"] == {"Days": 1}


def test_a_presigned_get_downloads_the_object(s3, bucket, key):
    name, content = key("files/"), os.urandom(4096)
    s3.put_object(Bucket=bucket, Key=name, Body=content)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": name}, ExpiresIn=60)
    assert "X-Amz-Signature=" in url
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.content == content


def test_a_presigned_post_of_the_pinned_size_is_stored(s3, bucket, key):
    name, content = key("uploads/"), os.urandom(1000)
    post = s3.generate_presigned_post(bucket, name, Conditions=[["content-length-range", len(content), len(content)]],
                                      ExpiresIn=60)
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    assert ["content-length-range", len(content), len(content)] in policy["conditions"]
    # moto checks none of a POST policy's conditions: it would store one byte
    # more as well. Refusing other sizes is S3's part, not asserted here.
    answer = httpx.post(post["url"], data=post["fields"], files={"file": ("upload.bin", content)}, timeout=10)
    assert answer.status_code == 204, answer.text
    assert s3.get_object(Bucket=bucket, Key=name)["Body"].read() == content
