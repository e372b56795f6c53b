"""A webhook receiver to watch `make dev`'s events: prints each delivery it
gets, after checking its Standard Webhooks signature with the endpoint's secret.

    python infra/webhook_receiver.py 9900 whsec_...

Create the endpoint with url http://127.0.0.1:9900/ (the local stack allows
loopback receivers) and pass the secret `GET /webhooks/{id}/secret` shows.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

import standardwebhooks


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    port, secret = int(sys.argv[1]), sys.argv[2]
    verifier = standardwebhooks.Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                event = verifier.verify(body, headers)
            except standardwebhooks.WebhookVerificationError as err:
                print(f"REFUSED {headers.get('webhook-id')}: {err}", flush=True)
                self.send_response(400)
                self.end_headers()
                return
            print(f"{headers['webhook-id']}  {event['type']}", flush=True)
            print(json.dumps(event["data"], indent=2), flush=True)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    print(f"listening on http://127.0.0.1:{port}/ (Ctrl-C stops)", flush=True)
    try:
        HTTPServer(("127.0.0.1", port), Handler).serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
