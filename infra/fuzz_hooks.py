"""Schemathesis hooks for infra/fuzz.sh.

The local emulator (cargo lambda watch) cannot put a body or header that is
not UTF-8 into a Lambda event and answers 500 itself, before any function
runs; such requests test the emulator, not this service, so they are not sent.
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
