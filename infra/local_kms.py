"""A local stand-in for AWS KMS, for the offline licenses' Ed25519 keys.

    python infra/local_kms.py PORT

Listens on 127.0.0.1:PORT and speaks KMS's own protocol (awsJson1_1: POST /,
`X-Amz-Target: TrentService.<Operation>`, a JSON body, answers in
`application/x-amz-json-1.1`), so the AWS SDKs work against it unchanged with
AWS_ENDPOINT_URL_KMS=http://127.0.0.1:PORT. Only what the service needs:

- CreateKey     KeySpec ECC_NIST_EDWARDS25519, KeyUsage SIGN_VERIFY
- DescribeKey   the key's KeyMetadata
- GetPublicKey  the DER SubjectPublicKeyInfo of the key
- Sign          ED25519_SHA_512 over a RAW message: the 64-byte signature

A KeyId is the key's id or its ARN. Errors are KMS's: NotFoundException for an
unknown key, ValidationException for bad input, UnknownOperationException.

The private keys live in this process's memory only: they are never written,
logged or answered, and die with the process (infra/stack.sh creates the keys
afresh on each start). The log has one line per request: operation and status.
"""

import base64
import binascii
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ACCOUNT = "111122223333"
KEY_SPEC = "ECC_NIST_EDWARDS25519"
KEY_USAGE = "SIGN_VERIFY"
ALGORITHM = "ED25519_SHA_512"
MAX_MESSAGE = 4096  # KMS's limit for a RAW message
MAX_BODY = 1 << 20
JSON_1_1 = "application/x-amz-json-1.1"
# The region of the caller's SigV4 credential scope: .../<date>/<region>/kms/aws4_request
SCOPE_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/kms/aws4_request")


class KmsError(Exception):
    def __init__(self, kind, message, status=400):
        super().__init__(message)
        self.kind, self.message, self.status = kind, message, status


class Key:
    def __init__(self, region, description):
        self.id = str(uuid.uuid4())
        self.arn = f"arn:aws:kms:{region}:{ACCOUNT}:key/{self.id}"
        self.description = description
        self.created = time.time()
        self._private = Ed25519PrivateKey.generate()
        self.public_der = self._private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, message):
        return self._private.sign(message)

    def __repr__(self):  # never the private key, whatever prints this
        return f"Key({self.arn})"

    def metadata(self):
        return {
            "AWSAccountId": ACCOUNT,
            "KeyId": self.id,
            "Arn": self.arn,
            "CreationDate": self.created,
            "Enabled": True,
            "Description": self.description,
            "KeyUsage": KEY_USAGE,
            "KeyState": "Enabled",
            "Origin": "AWS_KMS",
            "KeyManager": "CUSTOMER",
            "CustomerMasterKeySpec": KEY_SPEC,
            "KeySpec": KEY_SPEC,
            "SigningAlgorithms": [ALGORITHM],
            "MultiRegion": False,
        }


class Keys:
    def __init__(self):
        self._by_id = {}
        self._lock = threading.Lock()

    def add(self, key):
        with self._lock:
            self._by_id[key.id] = key

    def find(self, key_id):
        if not isinstance(key_id, str) or not 1 <= len(key_id) <= 2048:
            raise KmsError("ValidationException", "1 validation error detected: Value at 'keyId' failed to satisfy "
                           "constraint: Member must have length between 1 and 2048")
        with self._lock:
            key = self._by_id.get(key_id)
            if key is None and key_id.startswith("arn:"):
                candidate = self._by_id.get(key_id.rsplit("/", 1)[-1])
                key = candidate if candidate is not None and candidate.arn == key_id else None
        if key is None:
            raise KmsError("NotFoundException", f"Key '{key_id}' does not exist")
        return key


def _string(body, name, allowed=None, default=None):
    value = body.get(name, default)
    if value is None:
        raise KmsError("ValidationException", f"1 validation error detected: Value null at '{name}' "
                       "failed to satisfy constraint: Member must not be null")
    if not isinstance(value, str) or (allowed is not None and value not in allowed):
        raise KmsError("ValidationException", f"1 validation error detected: Value '{value}' at '{name}' failed to "
                       f"satisfy constraint: Member must satisfy enum value set: {sorted(allowed or [])}")
    return value


def _dry_run(body):
    if body.get("DryRun") is True:
        raise KmsError("DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")


def create_key(keys, body, region):
    spec = body.get("KeySpec", body.get("CustomerMasterKeySpec"))
    if spec != KEY_SPEC:
        raise KmsError("ValidationException", f"this local KMS makes only KeySpec {KEY_SPEC} keys, not {spec!r}")
    if body.get("KeyUsage") != KEY_USAGE:
        raise KmsError("ValidationException", f"an {KEY_SPEC} key needs KeyUsage {KEY_USAGE}, "
                       f"not {body.get('KeyUsage')!r}")
    description = body.get("Description", "")
    if not isinstance(description, str) or len(description) > 8192:
        raise KmsError("ValidationException", "Description must be a string of at most 8192 characters")
    if body.get("Origin", "AWS_KMS") != "AWS_KMS":
        raise KmsError("ValidationException", "this local KMS makes only AWS_KMS keys")
    key = Key(region, description)
    keys.add(key)
    return {"KeyMetadata": key.metadata()}


def describe_key(keys, body, _region):
    return {"KeyMetadata": keys.find(body.get("KeyId")).metadata()}


def get_public_key(keys, body, _region):
    key = keys.find(body.get("KeyId"))
    return {
        "KeyId": key.arn,
        "PublicKey": base64.b64encode(key.public_der).decode(),
        "CustomerMasterKeySpec": KEY_SPEC,
        "KeySpec": KEY_SPEC,
        "KeyUsage": KEY_USAGE,
        "SigningAlgorithms": [ALGORITHM],
    }


def sign(keys, body, _region):
    key = keys.find(body.get("KeyId"))
    algorithm = _string(body, "SigningAlgorithm", {ALGORITHM, "ED25519_PH_SHA_512", "ECDSA_SHA_256", "ECDSA_SHA_384",
                                                   "ECDSA_SHA_512", "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384",
                                                   "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256",
                                                   "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
                                                   "SM2DSA", "ML_DSA_SHAKE_256"})
    message_type = _string(body, "MessageType", {"RAW", "DIGEST", "EXTERNAL_MU"}, default="RAW")
    encoded = _string(body, "Message")
    try:
        message = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise KmsError("ValidationException", "Message is not valid base64") from None
    if not 1 <= len(message) <= MAX_MESSAGE:
        raise KmsError("ValidationException", f"Message must be 1 to {MAX_MESSAGE} bytes, not {len(message)}")
    if algorithm != ALGORITHM:
        raise KmsError("InvalidKeyUsageException",
                       f"{algorithm} is not a signing algorithm of key {key.arn} (it has [{ALGORITHM}])")
    if message_type != "RAW":
        raise KmsError("ValidationException", f"{ALGORITHM} signs RAW messages only, not {message_type}")
    _dry_run(body)
    return {"KeyId": key.arn, "Signature": base64.b64encode(key.sign(message)).decode(), "SigningAlgorithm": ALGORITHM}


OPERATIONS = {
    "CreateKey": create_key,
    "DescribeKey": describe_key,
    "GetPublicKey": get_public_key,
    "Sign": sign,
}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # every function process of the test stack may connect at once

    def __init__(self, port, default_region):
        super().__init__(("127.0.0.1", port), Handler)
        self.keys = Keys()
        self.default_region = default_region


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    operation = "-"

    def log_request(self, code="-", size="-"):
        # Never the body: one line with what was asked and how it went.
        sys.stderr.write(f"{self.log_date_time_string()} {self.command} {self.operation} {code}\n")

    def log_message(self, *_):
        pass

    def _answer(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", JSON_1_1)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, error):
        self._answer(error.status, {"__type": error.kind, "message": error.message})

    def do_GET(self):
        self.operation = "GET"
        self._error(KmsError("UnknownOperationException", "KMS answers POST / only"))

    def do_POST(self):
        target = self.headers.get("X-Amz-Target", "")
        self.operation = target or "(no X-Amz-Target)"
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit() or int(length) > MAX_BODY:
            self.close_connection = True
            return self._error(KmsError("ValidationException", "a request needs a Content-Length of at most 1 MiB"))
        raw = self.rfile.read(int(length))
        prefix, _, name = target.partition(".")
        handler = OPERATIONS.get(name) if prefix == "TrentService" else None
        if self.path != "/" or handler is None:
            return self._error(KmsError("UnknownOperationException", f"unknown operation {target!r}"))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._error(KmsError("SerializationException", "the body is not JSON"))
        if not isinstance(body, dict):
            return self._error(KmsError("SerializationException", "the body is not a JSON object"))
        scope = SCOPE_REGION.search(self.headers.get("Authorization", ""))
        region = scope.group(1) if scope else self.server.default_region
        try:
            self._answer(200, handler(self.server.keys, body, region))
        except KmsError as error:
            self._error(error)


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or not 0 < int(sys.argv[1]) < 65536:
        sys.exit("usage: python infra/local_kms.py PORT")
    server = Server(int(sys.argv[1]), os.environ.get("AWS_REGION") or "us-east-1")
    sys.stderr.write(f"local KMS listening on http://127.0.0.1:{server.server_address[1]}\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
