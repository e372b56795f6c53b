"""Digital files (SPEC §1.7): files uploaded to a digital_files entitlement live
in S3 (the local stack's moto server, reached through AWS_ENDPOINT_URL_S3); a
Delivered grant, and the entitlement's resolved config, give each file a
download URL minted by the read, which returns the bytes that were uploaded.

The Python SDK's `entitlements.files.upload` sends no body (422 naming
`file`), so Python callers post the multipart themselves, as here; the
TypeScript SDK's upload is in tests/node/.
"""

import base64
import concurrent.futures
import hashlib
import hmac
import json
import os
import signal
import threading
import time
import uuid

import boto3
import dodopayments
import httpx
import pytest
from dodopayments import DodoPayments
from dodopayments.types import integration_config_response as configs

from conftest import _env
from lambda_runtime import http_event, run_once
from test_grants import MANUAL, customer, new_entitlement

MiB = 1024 * 1024
DIGITAL = {"name": "Downloads", "integration_type": "digital_files",
           "integration_config": {"digital_file_ids": [], "instructions": "Unzip and run setup.",
                                  "external_url": "https://example.com/docs"}}


@pytest.fixture
def client(api_url, business):
    return DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0)


def bucket_keys(prefix):
    s3 = boto3.client("s3", endpoint_url=_env("AWS_ENDPOINT_URL_S3"), region_name=os.environ.get("AWS_REGION", "us-east-1"))
    listed = s3.list_objects_v2(Bucket=os.environ.get("FILES_BUCKET", "licensing-files"), Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def upload(api, entitlement_id, data, filename="manual.pdf", content_type="application/pdf", **headers):
    return api.post(f"/entitlements/{entitlement_id}/files", files={"file": (filename, data, content_type)},
                    headers=headers)


def multipart(data, filename="a.bin"):
    """A multipart/form-data body with one `file` part, and its Content-Type."""
    boundary = f"----b{uuid.uuid4().hex}"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def downloaded(url):
    answer = httpx.get(url)
    assert answer.status_code == 200, answer.text
    return answer.content


def test_an_uploaded_file_comes_back_byte_for_byte_from_a_grants_url(business, client):
    ent = new_entitlement(business, DIGITAL)
    data = os.urandom(300_000)
    answer = upload(business, ent["id"], data)
    assert answer.status_code == 200, answer.text
    file_id = answer.json()["file_id"]

    # The entitlement's config as the SDK reads it: its digital_files model, each file with a fresh URL.
    read = client.entitlements.retrieve(ent["id"])
    assert isinstance(read.integration_config, configs.DigitalFilesConfig), type(read.integration_config)
    files = read.integration_config.digital_files.files
    assert [(f.file_id, f.filename, f.content_type, f.file_size, f.expires_in) for f in files] == [
        (file_id, "manual.pdf", "application/pdf", len(data), 900)]
    assert read.integration_config.digital_files.instructions == "Unzip and run setup."
    assert read.integration_config.digital_files.external_url == "https://example.com/docs"
    assert downloaded(files[0].download_url) == data
    [listed] = [e for e in client.entitlements.list() if e.id == ent["id"]]
    assert downloaded(listed.integration_config.digital_files.files[0].download_url) == data

    grant = business.post(f"/entitlements/{ent['id']}/grants", json=customer())
    assert grant.status_code == 201, grant.text
    grant = grant.json()
    assert grant["status"] == "Delivered" and grant["delivered_at"]
    delivery = grant["digital_product_delivery"]
    assert [f["file_id"] for f in delivery["files"]] == [file_id]
    assert downloaded(delivery["files"][0]["download_url"]) == data

    # Every read mints its own URL; none is stored.
    again = business.get(f"/grants/{grant['id']}").json()["digital_product_delivery"]["files"][0]["download_url"]
    assert downloaded(again) == data
    listed = client.entitlements.grants.list(ent["id"]).items[0]
    assert isinstance(listed.digital_product_delivery, dodopayments.types.DigitalProductDelivery)
    assert downloaded(listed.digital_product_delivery.files[0].download_url) == data
    by_customer = client.customers.list_entitlement_grants(grant["customer_id"], integration_type="digital_files")
    assert [g.digital_product_delivery.files[0].file_id for g in by_customer] == [file_id]

    # Revoked: nothing to download.
    revoked = business.delete(f"/entitlements/{ent['id']}/grants/{grant['id']}").json()
    assert revoked["status"] == "Revoked" and revoked["digital_product_delivery"] is None
    assert business.get(f"/grants/{grant['id']}").json()["digital_product_delivery"] is None


def test_the_python_sdks_upload_sends_no_file_and_is_422_naming_it(business, client):
    ent = new_entitlement(business, DIGITAL)
    with pytest.raises(dodopayments.UnprocessableEntityError) as refused:
        client.entitlements.files.upload(ent["id"])
    assert "file" in refused.value.body["message"]
    not_a_form = business.post(f"/entitlements/{ent['id']}/files", json={"file": "x"})
    assert not_a_form.status_code == 422 and "file" in not_a_form.json()["message"]
    assert client.entitlements.retrieve(ent["id"]).integration_config.digital_files.files == []


def test_four_mib_through_the_route_and_413_past_it(business):
    ent = new_entitlement(business, DIGITAL)
    assert upload(business, ent["id"], b"\0" * (4 * MiB)).status_code == 200
    too_large = upload(business, ent["id"], b"\0" * (4 * MiB + 1))
    assert too_large.status_code == 413, too_large.text
    assert too_large.json()["code"] == "FILE_TOO_LARGE"
    assert len(business.get(f"/entitlements/{ent['id']}").json()["integration_config"]["digital_files"]["files"]) == 1
    assert upload(business, ent["id"], b"").status_code == 422


def test_a_presigned_upload_of_a_large_file_comes_back_byte_for_byte(business):
    ent = new_entitlement(business, DIGITAL)
    data = os.urandom(6 * MiB + 123)
    start = business.post(f"/entitlements/{ent['id']}/files/uploads",
                          json={"filename": "installer.dmg", "content_type": "application/x-apple-diskimage",
                                "size": len(data)})
    assert start.status_code == 201, start.text
    form = start.json()
    assert form["expires_in"] == 900
    early = business.post(f"/entitlements/{ent['id']}/files/uploads/{form['file_id']}/complete")
    assert early.status_code == 409 and early.json()["code"] == "UPLOAD_NOT_RECEIVED", early.text

    posted = httpx.post(form["upload_url"], data=form["fields"],
                        files={"file": ("installer.dmg", data, "application/x-apple-diskimage")})
    assert posted.status_code in (200, 201, 204), posted.text
    done = business.post(f"/entitlements/{ent['id']}/files/uploads/{form['file_id']}/complete")
    assert done.status_code == 200 and done.json() == {"file_id": form["file_id"]}, done.text
    again = business.post(f"/entitlements/{ent['id']}/files/uploads/{form['file_id']}/complete")
    assert again.status_code == 200 and again.json() == {"file_id": form["file_id"]}

    grant = business.post(f"/entitlements/{ent['id']}/grants", json=customer()).json()
    [file] = grant["digital_product_delivery"]["files"]
    assert (file["filename"], file["file_size"]) == ("installer.dmg", len(data))
    assert downloaded(file["download_url"]) == data
    assert bucket_keys(f"uploads/{business.business_id}/") == [], "the upload's copy is removed once attached"


def test_the_upload_form_is_signed_as_s3_signs_a_post_policy(business):
    ent = new_entitlement(business, DIGITAL)
    form = business.post(f"/entitlements/{ent['id']}/files/uploads",
                         json={"filename": "a.bin", "content_type": "application/octet-stream", "size": 10}).json()
    fields = form["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 10, 10] in policy["conditions"]
    assert {"key": fields["key"]} in policy["conditions"] and fields["key"].startswith("uploads/")
    # Signature Version 4 of the policy, computed here independently with the stack's secret.
    key_id, date, region, service, _ = fields["x-amz-credential"].split("/")
    assert (key_id, service) == (os.environ["AWS_ACCESS_KEY_ID"], "s3")
    signing = ("AWS4" + os.environ["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (date, region, "s3", "aws4_request"):
        signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(signing, fields["policy"].encode(), hashlib.sha256).hexdigest()
    assert fields["x-amz-signature"] == expected


def test_a_wrong_size_is_not_attached(business):
    ent = new_entitlement(business, DIGITAL)
    form = business.post(f"/entitlements/{ent['id']}/files/uploads",
                         json={"filename": "a.bin", "content_type": "application/octet-stream", "size": 100}).json()
    # moto does not enforce the policy's length range; the completion checks the size itself.
    httpx.post(form["upload_url"], data=form["fields"], files={"file": ("a.bin", b"x" * 99)})
    refused = business.post(f"/entitlements/{ent['id']}/files/uploads/{form['file_id']}/complete")
    assert refused.status_code == 409 and refused.json()["code"] == "UPLOAD_SIZE_MISMATCH", refused.text
    assert business.get(f"/entitlements/{ent['id']}").json()["integration_config"]["digital_files"]["files"] == []


def test_a_deleted_file_is_gone_from_reads_and_from_the_bucket(business):
    ent = new_entitlement(business, DIGITAL)
    kept, dropped = (upload(business, ent["id"], name.encode(), filename=f"{name}.txt").json()["file_id"]
                     for name in ("kept", "dropped"))
    grant = business.post(f"/entitlements/{ent['id']}/grants", json=customer()).json()
    assert business.delete(f"/entitlements/{ent['id']}/files/{dropped}").status_code == 204
    assert business.delete(f"/entitlements/{ent['id']}/files/{dropped}").status_code == 404
    files = business.get(f"/grants/{grant['id']}").json()["digital_product_delivery"]["files"]
    assert [f["file_id"] for f in files] == [kept]
    assert bucket_keys(f"files/{business.business_id}/{ent['id']}/") == [f"files/{business.business_id}/{ent['id']}/{kept}"]


def test_the_config_names_only_files_the_entitlement_holds(business):
    first = new_entitlement(business, DIGITAL)
    a, b = (upload(business, first["id"], x).json()["file_id"] for x in (b"a", b"b"))
    reordered = business.patch(f"/entitlements/{first['id']}", json={"integration_config": {"digital_file_ids": [b, a]}})
    assert reordered.status_code == 200, reordered.text
    assert [f["file_id"] for f in reordered.json()["integration_config"]["digital_files"]["files"]] == [b, a]
    invented = business.patch(f"/entitlements/{first['id']}", json={"integration_config": {"digital_file_ids": ["file_x"]}})
    assert invented.status_code == 422 and "digital_file_ids" in invented.json()["message"]
    at_creation = business.post("/entitlements", json={**DIGITAL, "integration_config": {"digital_file_ids": [a]}})
    assert at_creation.status_code == 422 and "digital_file_ids" in at_creation.json()["message"]
    license_key = new_entitlement(business, MANUAL)
    assert upload(business, license_key["id"], b"x").json()["code"] == "ENTITLEMENT_NOT_DIGITAL_FILES"


def test_concurrent_uploads_each_attach_once_and_a_replay_attaches_nothing_more(business):
    ent = new_entitlement(business, DIGITAL)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda i: upload(business, ent["id"], f"file {i}".encode(), filename=f"{i}.txt"),
                                range(10)))
    assert [a.status_code for a in answers] == [200] * 10, [a.text for a in answers]
    ids = {a.json()["file_id"] for a in answers}
    files = business.get(f"/entitlements/{ent['id']}").json()["integration_config"]["digital_files"]["files"]
    assert {f["file_id"] for f in files} == ids and len(files) == 10, "no upload undid another's"

    # A retry sends the same bytes (the same boundary) with the same key.
    body, content_type = multipart(b"once")
    headers = {"Idempotency-Key": str(uuid.uuid4()), "content-type": content_type}
    first = business.post(f"/entitlements/{ent['id']}/files", content=body, headers=headers)
    replay = business.post(f"/entitlements/{ent['id']}/files", content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert replay.json() == first.json() and replay.headers.get("idempotent-replayed") == "true"
    files = business.get(f"/entitlements/{ent['id']}").json()["integration_config"]["digital_files"]["files"]
    assert len(files) == 11


def multipart_event(business, entitlement_id, data):
    body, content_type = multipart(data)
    path = f"/entitlements/{entitlement_id}/files"
    headers = {"authorization": f"Bearer {business.key}", "content-type": content_type}
    event = http_event("POST", "/entitlements/{entitlement_id}/files", path, {"entitlement_id": entitlement_id}, headers)
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    return event


def test_s3_unreachable_is_503_and_nothing_is_attached(business):
    ent = new_entitlement(business, DIGITAL)
    answer, _ = run_once("upload-entitlement-file", multipart_event(business, ent["id"], b"data"),
                         {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9"})
    assert answer["statusCode"] == 503, answer
    assert json.loads(answer["body"])["code"] == "SERVICE_UNAVAILABLE"
    assert business.get(f"/entitlements/{ent['id']}").json()["integration_config"]["digital_files"]["files"] == []
    assert bucket_keys(f"files/{business.business_id}/{ent['id']}/") == []


def proxy_pid():
    with open(os.environ["DYNAMODB_PROXY_PID_FILE"]) as f:
        return int(f.read())


def test_dynamodb_lost_after_the_bytes_are_stored_leaves_no_object_behind(business):
    ent = new_entitlement(business, DIGITAL)

    def cut_while_held():
        time.sleep(0.7)  # the upload is stored and its transaction held (pause-before-commit)
        os.kill(proxy_pid(), signal.SIGUSR1)
        # Longer than the SDK's three attempts at the commit (at most 3 s of backoff), so it
        # fails; DynamoDB is back while the function asks whether it did commit.
        time.sleep(4.5)
        os.kill(proxy_pid(), signal.SIGUSR2)

    cutter = threading.Thread(target=cut_while_held)
    cutter.start()
    try:
        answer, _ = run_once("upload-entitlement-file", multipart_event(business, ent["id"], b"data"),
                             {"FAILPOINT": "pause-before-commit",
                              "AWS_ENDPOINT_URL_DYNAMODB": os.environ["FUNCTION_DYNAMODB_ENDPOINT"]})
    finally:
        cutter.join()
        os.kill(proxy_pid(), signal.SIGUSR2)
    assert answer["statusCode"] == 503, answer
    assert business.get(f"/entitlements/{ent['id']}").json()["integration_config"]["digital_files"]["files"] == []
    assert bucket_keys(f"files/{business.business_id}/{ent['id']}/") == [], "the stored bytes were deleted again"


def test_a_product_shows_its_digital_files_resolved(business, client):
    ent = new_entitlement(business, DIGITAL)
    data = b"product download"
    upload(business, ent["id"], data)
    product_id = f"pdt_{uuid.uuid4().hex[:12]}"
    patched = business.patch(f"/products/{product_id}", json={"entitlements": [{"entitlement_id": ent["id"]}]})
    assert patched.status_code == 200, patched.text
    [shown] = patched.json()["entitlements"]
    assert downloaded(shown["integration_config"]["digital_files"]["files"][0]["download_url"]) == data
    [read] = business.get(f"/products/{product_id}").json()["entitlements"]
    assert downloaded(read["integration_config"]["digital_files"]["files"][0]["download_url"]) == data


def test_a_replayed_answer_keeps_no_download_url(business):
    ent = new_entitlement(business, DIGITAL)
    upload(business, ent["id"], b"kept")
    body, headers = customer(), {"Idempotency-Key": str(uuid.uuid4())}
    first = business.post(f"/entitlements/{ent['id']}/grants", json=body, headers=headers)
    replay = business.post(f"/entitlements/{ent['id']}/grants", json=body, headers=headers)
    assert first.status_code == 201 and downloaded(first.json()["digital_product_delivery"]["files"][0]["download_url"]) == b"kept"
    assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true", replay.text
    [file] = replay.json()["digital_product_delivery"]["files"]
    assert (file["download_url"], file["expires_in"]) == ("", 0), "minted per read, never stored"
    fresh = business.get(f"/grants/{first.json()['id']}").json()["digital_product_delivery"]["files"][0]
    assert downloaded(fresh["download_url"]) == b"kept"
