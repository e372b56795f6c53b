"""Schemathesis hooks for infra/fuzz.sh.

The local emulator (cargo lambda watch) cannot put a body or header that is
not UTF-8 into a Lambda event and answers 500 itself, before any function
runs; such requests test the emulator, not this service, so they are not sent
(and a check that resends a binary body as text has the failure dropped).
"""

import schemathesis


def _utf8(value):
    try:
        if isinstance(value, (bytes, bytearray)):
            value.decode("utf-8")
        elif isinstance(value, str):
            value.encode("utf-8")
        return True
    except UnicodeError:
        return False


@schemathesis.hook
def filter_body(ctx, body):
    return _utf8(body)


@schemathesis.hook
def filter_headers(ctx, headers):
    return headers is None or all(_utf8(value) and str(value).isascii() for value in headers.values())


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    """A failure the emulator made: its own 500 (an RFC 7807 body, never this
    service's `{code, message}`) for a request whose body is not UTF-8 and is
    not sent as one it base64-encodes, as when a check resends a binary
    multipart body as `text/plain`. API Gateway base64-encodes such a body."""
    body = response.request.body if response.request is not None else None
    raw = body.encode("utf-8") if isinstance(body, str) else body
    emulator_500 = response.status_code == 500 and b"httpstatuses.com/500" in (response.content or b"")
    return not (emulator_500 and isinstance(raw, (bytes, bytearray)) and not _utf8(raw))
