// Dodo's TypeScript SDK (npm `dodopayments`, from infra/node_modules) drives
// the Dodo routes unchanged: what tests/test_dodo_sdk.py, test_grants_sdk.py,
// test_license_keys_sdk.py and test_webhooks.py do with the Python SDK.
//
// Run by infra/test.sh (`infra/test.sh node` alone) against its local stack:
// LICENSING_API_URL is the API, MINT_API_KEY the project's key minting tool.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import test from "node:test";

const require = createRequire(fileURLToPath(new URL("../../infra/package.json", import.meta.url)));
const { DodoPayments, NotFoundError, ConflictError } = require("dodopayments");

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with infra/test.sh node`);
  return value;
}

const API_URL = env("LICENSING_API_URL").replace(/\/+$/, "");

const MANUAL = {
  name: "Pro license",
  integration_type: "license_key",
  integration_config: {
    activations_limit: 3,
    duration_count: 1,
    duration_interval: "Year",
    activation_message: "Open Settings > License and paste the key.",
    fulfillment_mode: "manual",
  },
};

const hex = (n) => randomUUID().replaceAll("-", "").slice(0, n);
const uniqueKey = () => `KEY-${randomUUID().replaceAll("-", "").toUpperCase()}`;
const customer = () => {
  const id = `cus_${hex(12)}`;
  return { customer_id: id, customer_email: `${id}@example.com`, customer_name: "Ada Buyer" };
};

// A fresh business of its own (so lists hold only what the test made), with
// its key minted as tests/conftest.py mints one: by the project's own tool.
function newBusiness(options = {}) {
  const id = `bus_${hex(16)}`;
  const out = execFileSync(env("MINT_API_KEY"), [`business:${id}`], { encoding: "utf8" });
  const { key } = JSON.parse(out);
  const client = new DodoPayments({ bearerToken: key, baseURL: API_URL, maxRetries: 0, ...options });
  return { id, key, client };
}

// The SDK has no call to issue a grant (in Dodo a payment does it): plain HTTP.
async function issueGrant(business, entitlementId, who = customer()) {
  const answer = await fetch(`${API_URL}/entitlements/${entitlementId}/grants`, {
    method: "POST",
    headers: { Authorization: `Bearer ${business.key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ ...who, payment_id: `pay_${hex(10)}` }),
  });
  const body = await answer.json();
  assert.equal(answer.status, 201, JSON.stringify(body));
  return body;
}

async function waitFor(condition, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("entitlements: create, retrieve, update, delete", async () => {
  const { client } = newBusiness();
  const created = await client.entitlements.create({
    name: "Team plan",
    integration_type: "license_key",
    integration_config: { activations_limit: 5, fulfillment_mode: "manual" },
    description: "For teams",
    metadata: { plan: "team" },
  });
  assert.match(created.id, /^ent_/);
  assert.equal(created.integration_type, "license_key");
  assert.equal(created.integration_config.activations_limit, 5);
  assert.equal(created.is_active, true);

  const fetched = await client.entitlements.retrieve(created.id);
  assert.equal(fetched.id, created.id);
  assert.equal(fetched.name, "Team plan");
  assert.deepEqual(fetched.metadata, { plan: "team" });

  const updated = await client.entitlements.update(created.id, { name: "Team plan v2", metadata: { plan: "team", v: 2 } });
  assert.equal(updated.name, "Team plan v2");
  assert.deepEqual(updated.metadata, { plan: "team", v: 2 });
  assert.ok(Date.parse(updated.updated_at) >= Date.parse(created.updated_at));
  assert.deepEqual(await client.entitlements.retrieve(created.id), updated);

  // A 204: the SDK answers null.
  assert.equal(await client.entitlements.delete(created.id), null);
  await assert.rejects(client.entitlements.retrieve(created.id), NotFoundError);
});

test("entitlements.list's auto-pager yields each entitlement once and stops", async () => {
  const pages = [];
  const { client } = newBusiness({
    fetch: (url, init) => {
      if (new URL(url).pathname === "/entitlements" && (init?.method ?? "GET") === "GET") pages.push(new URL(url).searchParams);
      return fetch(url, init);
    },
  });
  const made = [];
  for (let i = 0; i < 5; i++) {
    const entitlement = await client.entitlements.create({
      name: `Plan ${i}`,
      integration_type: "github",
      integration_config: { target_id: "org/repo", permission: "pull" },
    });
    made.push(entitlement.id);
  }

  const seen = [];
  for await (const entitlement of client.entitlements.list({ page_size: 2 })) seen.push(entitlement.id);
  assert.deepEqual(seen, made.toReversed()); // newest first, each once
  // Pages of 2, 2 and 1, then the empty page that ends the walk.
  assert.deepEqual(pages.map((q) => q.get("page_number")), [null, "2", "3", "4"]);
  assert.ok(pages.every((q) => q.get("page_size") === "2"));

  const first = await client.entitlements.list({ page_size: 2 });
  assert.equal(first.items.length, 2);
  assert.equal(first.hasNextPage(), true);
});

test("entitlements.list's auto-pager walks 1,050 entitlements to the end, past page 100", async () => {
  const numbers = [];
  const business = newBusiness({
    fetch: (url, init) => {
      if (new URL(url).pathname === "/entitlements" && (init?.method ?? "GET") === "GET") numbers.push(new URL(url).searchParams.get("page_number"));
      return fetch(url, init);
    },
  });
  const create = async (i) => {
    const answer = await fetch(`${API_URL}/entitlements`, {
      method: "POST",
      headers: { Authorization: `Bearer ${business.key}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: `Plan ${i}`, integration_type: "github", integration_config: { target_id: "org/repo", permission: "pull" } }),
    });
    const text = await answer.text();
    assert.equal(answer.status, 201, text);
    return JSON.parse(text).id;
  };
  const made = [];
  for (let i = 0; i < 1050; i += 25) made.push(...(await Promise.all(Array.from({ length: 25 }, (_, j) => create(i + j)))));

  // The list's own order, by cursor at the largest page size.
  const byCursor = [];
  for (let cursor = null; ;) {
    const query = new URLSearchParams({ page_size: "100", ...(cursor ? { cursor } : {}) });
    const page = await (await fetch(`${API_URL}/entitlements?${query}`, { headers: { Authorization: `Bearer ${business.key}` } })).json();
    byCursor.push(...page.items.map((e) => e.id));
    if (!(cursor = page.next_cursor)) break;
  }
  assert.deepEqual([...byCursor].sort(), [...made].sort());

  const seen = [];
  for await (const entitlement of business.client.entitlements.list()) seen.push(entitlement.id);
  assert.equal(seen.length, 1050);
  assert.equal(new Set(seen).size, 1050, "an entitlement came twice");
  assert.deepEqual(seen, byCursor, "the auto-pager's order is the list's order");
  // The SDK's default page size (10): 105 full pages, then the empty one that stops it.
  assert.equal(numbers.length, 106);
  assert.deepEqual(numbers.slice(0, 3), [null, "2", "3"]);
  assert.equal(numbers.at(-1), "106");
});

test("grants: list, fulfil the pending grant with a key, revoke", async () => {
  const business = newBusiness();
  const { client } = business;
  const entitlement = await client.entitlements.create(MANUAL);
  const who = customer();
  const issued = [];
  for (let i = 0; i < 3; i++) issued.push((await issueGrant(business, entitlement.id, who)).id);

  const listed = [];
  for await (const grant of client.entitlements.grants.list(entitlement.id, { page_size: 2 })) listed.push(grant);
  assert.deepEqual(listed.map((g) => g.id), issued.toReversed());
  assert.ok(listed.every((g) => g.status === "Pending" && g.customer_id === who.customer_id && g.license_key === null));

  const key = uniqueKey();
  const delivered = await client.entitlements.grants.fulfillLicenseKey(issued[0], { key, activations_limit: 2 });
  assert.equal(delivered.id, issued[0]);
  assert.equal(delivered.status, "Delivered");
  assert.ok(delivered.delivered_at);
  assert.equal(delivered.license_key.key, key);
  assert.equal(delivered.license_key.activations_limit, 2);
  assert.equal(delivered.license_key.status, "active");
  // A grant is fulfilled once.
  const again = client.entitlements.grants.fulfillLicenseKey(issued[0], { key: uniqueKey() });
  await assert.rejects(again, (error) => error instanceof ConflictError && error.error.code === "GRANT_NOT_PENDING");

  const revoked = await client.entitlements.grants.revoke(issued[0], { id: entitlement.id });
  assert.equal(revoked.id, issued[0]);
  assert.equal(revoked.status, "Revoked");
  assert.ok(revoked.revoked_at);
  assert.equal(revoked.revocation_reason, "manual");
  assert.equal(revoked.license_key.status, "disabled");

  const pending = await client.entitlements.grants.list(entitlement.id, { status: "Pending", page_size: 100 });
  assert.deepEqual(pending.items.map((g) => g.id), issued.slice(1).toReversed());
});

test("license keys, their instances and the public activate, validate, deactivate", async () => {
  const business = newBusiness();
  const { client } = business;
  const entitlement = await client.entitlements.create(MANUAL);
  const grant = await issueGrant(business, entitlement.id);
  const key = uniqueKey();
  const keyId = (await client.entitlements.grants.fulfillLicenseKey(grant.id, { key })).license_key.id;

  const activated = await client.licenses.activate({ license_key: key, name: "build-agent" });
  assert.match(activated.id, /^lki_/);
  assert.equal(activated.name, "build-agent");
  assert.equal(activated.product.product_id, entitlement.id);
  assert.equal(activated.customer.customer_id, grant.customer_id);
  // CustomerLimitedDetails' metadata and phone_number, null as unknown.
  assert.equal(activated.customer.metadata, null);
  assert.equal(activated.customer.phone_number, null);
  const valid = await client.licenses.validate({ license_key: key, license_key_instance_id: activated.id });
  assert.equal(valid.valid, true);

  const keys = [];
  for await (const k of client.licenseKeys.list({ customer_id: grant.customer_id })) keys.push(k);
  assert.deepEqual(keys.map((k) => k.id), [keyId]);
  assert.equal(keys[0].key, key);
  assert.equal(keys[0].instances_count, 1);
  assert.equal(keys[0].status, "active");
  assert.equal((await client.licenseKeys.retrieve(keyId)).key, key);
  const raised = await client.licenseKeys.update(keyId, { activations_limit: 5 });
  assert.equal(raised.id, keyId);
  assert.equal(raised.activations_limit, 5);
  assert.equal((await client.licenseKeys.retrieve(keyId)).activations_limit, 5);

  const instances = [];
  for await (const i of client.licenseKeyInstances.list({ license_key_id: keyId })) instances.push(i);
  assert.deepEqual(instances.map((i) => i.id), [activated.id]);
  assert.equal(instances[0].license_key_id, keyId);
  assert.equal((await client.licenseKeyInstances.retrieve(activated.id)).name, "build-agent");
  const renamed = await client.licenseKeyInstances.update(activated.id, { name: "build-agent-2" });
  assert.equal(renamed.id, activated.id);
  assert.equal(renamed.name, "build-agent-2");
  assert.equal((await client.licenseKeyInstances.retrieve(activated.id)).name, "build-agent-2");

  // The SDK reads deactivate's answer as no content.
  assert.deepEqual(await client.licenses.deactivate({ license_key: key, license_key_instance_id: activated.id }), {});
  const after = await client.licenses.validate({ license_key: key, license_key_instance_id: activated.id });
  assert.equal(after.valid, false);
  assert.equal((await client.licenseKeys.retrieve(keyId)).instances_count, 0);
  await assert.rejects(client.licenseKeyInstances.retrieve(activated.id), NotFoundError);
});

// A receiver on 127.0.0.1 that records each delivery and answers 200.
async function startReceiver() {
  const deliveries = [];
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      deliveries.push({ path: request.url, headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(200, { "Content-Length": "0", Connection: "close" });
      response.end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return { url: `http://127.0.0.1:${server.address().port}`, deliveries, close };
}

test("webhooks.unwrap accepts a delivered event with the endpoint's secret", async () => {
  const business = newBusiness();
  const { client } = business;
  const receiver = await startReceiver();
  try {
    const path = `/hooks/${hex(16)}`;
    const hook = await client.webhooks.create({ url: receiver.url + path, description: "node receiver" });
    const { secret } = await client.webhooks.retrieveSecret(hook.id);
    assert.match(secret, /^whsec_/);
    // The types beyond Dodo's go only to an endpoint whose filter_types names them.
    const oursPath = `/hooks/${hex(16)}`;
    const ours = await client.webhooks.create({
      url: receiver.url + oursPath,
      filter_types: ["license_key.updated", "license_key_instance.created"],
    });

    const entitlement = await client.entitlements.create(MANUAL);
    const grant = await issueGrant(business, entitlement.id);
    const key = uniqueKey();
    const delivered = await client.entitlements.grants.fulfillLicenseKey(grant.id, { key });
    await client.licenseKeys.update(delivered.license_key.id, { activations_limit: 9 }); // license_key.updated
    await client.licenses.activate({ license_key: key, name: "node" }); // license_key_instance.created

    // entitlement_grant.created, then .delivered and license_key.created; the
    // local stack's scheduler delivers within seconds.
    const at = (p) => receiver.deliveries.filter((d) => d.path === p);
    await waitFor(() => at(oursPath).length >= 2, "the two events beyond Dodo at the endpoint naming them");
    await waitFor(() => at(path).length >= 3, "three deliveries");
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // time for a stray to arrive
    const got = at(path);
    assert.deepEqual(
      at(oursPath).map((d) => JSON.parse(d.body).type),
      ["license_key.updated", "license_key_instance.created"],
    );
    const events = got.map((d) => client.webhooks.unwrap(d.body, { headers: d.headers, key: secret }));
    assert.deepEqual(
      events.map((e) => e.type).toSorted(),
      ["entitlement_grant.created", "entitlement_grant.delivered", "license_key.created"],
    );
    assert.ok(events.every((e) => e.business_id === business.id));
    const byType = Object.fromEntries(events.map((e) => [e.type, e.data]));
    assert.equal(byType["entitlement_grant.created"].id, grant.id);
    assert.equal(byType["entitlement_grant.created"].status, "Pending");
    assert.equal(byType["entitlement_grant.delivered"].id, grant.id);
    assert.equal(byType["entitlement_grant.delivered"].status, "Delivered");
    assert.equal(byType["entitlement_grant.delivered"].license_key.key, key);
    assert.equal(byType["license_key.created"].id, delivered.license_key.id);
    assert.equal(byType["license_key.created"].key, key);

    // What unwrap is for: a body changed on the way, or the wrong secret, is refused.
    const [first] = got;
    assert.throws(() => client.webhooks.unwrap(first.body.replace("}", ', "x": 1}'), { headers: first.headers, key: secret }));
    const otherSecret = `whsec_${Buffer.from(randomUUID()).toString("base64")}`;
    assert.throws(() => client.webhooks.unwrap(first.body, { headers: first.headers, key: otherSecret }));

    assert.equal(await client.webhooks.delete(hook.id), null);
    assert.equal(await client.webhooks.delete(ours.id), null);
  } finally {
    await receiver.close();
  }
});

test("entitlements.files.upload stores a real file that a grant's URL returns byte for byte", async () => {
  const business = newBusiness();
  const ent = await business.client.entitlements.create({
    name: "Downloads",
    integration_type: "digital_files",
    integration_config: { digital_file_ids: [], instructions: "Open the folder." },
  });
  // A real file from disk: this test's own source.
  const bytes = readFileSync(fileURLToPath(import.meta.url));
  const form = new FormData();
  form.append("file", new Blob([bytes], { type: "text/javascript" }), "dodo_sdk.test.mjs");
  form.append("filename", "sdk-test.mjs");
  const { file_id } = await business.client.entitlements.files.upload(ent.id, { body: form });

  const grant = await issueGrant(business, ent.id);
  assert.equal(grant.status, "Delivered");
  const [file] = grant.digital_product_delivery.files;
  assert.deepEqual([file.file_id, file.filename, file.content_type, file.file_size, file.expires_in],
                   [file_id, "sdk-test.mjs", "text/javascript", bytes.length, 900]);
  const got = Buffer.from(await (await fetch(file.download_url)).arrayBuffer());
  assert.ok(got.equals(bytes), "the download is the uploaded file");

  await business.client.entitlements.files.delete(file_id, { id: ent.id });
  const after = await business.client.entitlements.retrieve(ent.id);
  assert.deepEqual(after.integration_config.digital_files.files, []);
  await assert.rejects(business.client.entitlements.files.delete(file_id, { id: ent.id }), NotFoundError);
});
