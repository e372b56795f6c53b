"""The API reference page: Swagger UI over the repo's openapi.yaml.

Usage: python infra/docs_server.py [port]   (default: $DOCS_PORT, else 9001)

Serves, on 127.0.0.1 only:
  /              a page that renders openapi.yaml with Swagger UI
  /openapi.yaml  the repo's openapi.yaml, read from disk on each request, so a
                 regenerated document shows on the next reload
  /swagger-ui/*  the files of the npm package swagger-ui-dist (infra/node_modules)

The page loads nothing from the network: Swagger UI comes from the package and
its validator badge (which calls validator.swagger.io) is off.
SIGTERM or SIGINT stops it.
"""

import mimetypes
import os
import signal
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "openapi.yaml"
SWAGGER_UI = ROOT / "infra" / "node_modules" / "swagger-ui-dist"

INDEX = b"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Licensing service: API reference</title>
  <link rel="stylesheet" href="/swagger-ui/swagger-ui.css">
  <link rel="icon" type="image/png" href="/swagger-ui/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/swagger-ui/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/openapi.yaml",
      dom_id: "#swagger-ui",
      validatorUrl: null,
      deepLinking: true,
    });
  </script>
</body>
</html>
"""


class Handler(BaseHTTPRequestHandler):
    server_version = "docs_server"

    def log_message(self, *_):
        pass

    def _send(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        # Both may change between reloads (a regenerated document, a new package version).
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _not_found(self):
        self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    def do_GET(self):
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path in ("/", "/index.html"):
            return self._send(HTTPStatus.OK, INDEX, "text/html; charset=utf-8")
        if path == "/openapi.yaml":
            try:
                body = OPENAPI.read_bytes()
            except OSError as error:
                return self._send(HTTPStatus.SERVICE_UNAVAILABLE, f"cannot read {OPENAPI}: {error}\n".encode(),
                                  "text/plain; charset=utf-8")
            return self._send(HTTPStatus.OK, body, "application/yaml; charset=utf-8")
        if path.startswith("/swagger-ui/"):
            return self._package_file(path[len("/swagger-ui/"):])
        return self._not_found()

    do_HEAD = do_GET

    def _package_file(self, name):
        # Only a plain file name: nothing outside the package folder can be named.
        if not name or "/" in name or "\\" in name or name.startswith("."):
            return self._not_found()
        file = SWAGGER_UI / name
        if not file.is_file():
            return self._not_found()
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type == "application/javascript":
            content_type += "; charset=utf-8"
        self._send(HTTPStatus.OK, file.read_bytes(), content_type)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DOCS_PORT") or 9001)
    if not (SWAGGER_UI / "swagger-ui-bundle.js").is_file():
        sys.exit(f"docs_server: {SWAGGER_UI} is missing: run infra/bootstrap.sh")
    server = Server(("127.0.0.1", port), Handler)

    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"API reference on http://127.0.0.1:{port}/ (openapi.yaml from {OPENAPI})", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
