// Verifies an offline license as a Node client would, with the `jose` package
// (from infra/node_modules) and no call to the service: the JWK Set is given.
//
//   echo '{"token": "...", "jwks": {"keys": [...]}, "audience": "ent_...", "issuer": "https://localhost"}' |
//     node tests/verify_offline_license.mjs
//
// Prints {"ok": true, "header": ..., "payload": ...} and exits 0 when the
// license verifies; {"ok": false, "code": "ERR_...", "message": ...} and exits 1
// when jose refuses it. The key is the JWK whose kid the token's header names.
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const infra = new URL("../infra/package.json", import.meta.url);
const josePath = createRequire(fileURLToPath(infra)).resolve("jose");
const { importJWK, jwtVerify, errors } = await import(pathToFileURL(josePath).href);

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { token, jwks, audience, issuer } = JSON.parse(input);

try {
  const { payload, protectedHeader } = await jwtVerify(
    token,
    async (header) => {
      const jwk = jwks.keys.find((k) => k.kid === header.kid);
      if (!jwk) throw new errors.JWKSNoMatchingKey();
      return importJWK(jwk, "EdDSA");
    },
    { algorithms: ["EdDSA"], typ: "JWT", audience, issuer, requiredClaims: ["iat", "nbf", "exp", "sub"] },
  );
  process.stdout.write(JSON.stringify({ ok: true, header: protectedHeader, payload }) + "\n");
} catch (err) {
  if (!(err instanceof errors.JOSEError)) throw err;
  process.stdout.write(JSON.stringify({ ok: false, code: err.code, message: err.message }) + "\n");
  process.exitCode = 1;
}
