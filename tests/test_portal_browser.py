"""The customer portal in a real browser: a customer opens the link a business
had emailed them, sees their licenses, copies a key and frees a device.

A business asks for a portal session with `send_email=true`; the test takes the
link from the email the SES emulator received (the same link the API answered),
and Chromium opens it: one redirect swaps the token for an HttpOnly cookie, and
the page lists the customer's grants, keys, devices and credits. The checks:

- what the page shows, and that it shows another customer of the same business
  only their own (and another business none of it);
- Copy puts the key on the clipboard; "Free this device" asks to confirm, and
  the admin API then lists only the device left;
- without a valid session (no cookie, a forged cookie or a forged link) the
  "expired" page answers 401;
- every page (portal, expired) passes axe-core with no violation, and fits
  320 px without scrolling sideways;
- the page loads only its own HTML, CSS and JS from the API's origin: any other
  request is refused and fails the test. Its weight (those bytes) and first
  contentful paint are printed, and bounded.

Full-page screenshots of each page, at 1280 and at 320 px, are written to
docs/portal/ when PORTAL_SCREENSHOTS=1 (made once, then committed), else to a
temp dir.

Playwright drives Debian's Chromium as tests/test_reference_page.py does;
axe-core comes from infra/node_modules (infra/bootstrap.sh).
"""

import contextlib
import json
import os
import re
import secrets
import subprocess
import uuid
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from conftest import MINTED_SECRETS, Api
from test_devices import until
from test_grants import AUTO, new_entitlement
from test_reference_page import CHROMIUM, CHROMIUM_ARGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AXE = os.path.join(ROOT, "infra", "node_modules", "axe-core", "axe.min.js")
BUSINESS_NAME = "Northwind Software"
RETURN_URL = "https://shop.example.com/account?tab=licenses&from=portal"
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 320, "height": 800}
PORTAL = "/customer-portal"
ASSETS = {"/customer-portal/assets/portal.css", "/customer-portal/assets/portal.js"}
MAX_WEIGHT = 50 * 1024  # bytes of HTML + CSS + JS
MAX_FCP_MS = 1000


# ---------------------------------------------------------------- the API side


def customer_with_key(api, anonymous, label, devices=()):
    """A new customer of `api` with a delivered grant of a new entitlement (3 activations),
    and `devices` activated on its key through the public route."""
    tag = uuid.uuid4().hex[:8]
    config = {**AUTO["integration_config"], "activations_limit": 3}
    entitlement = new_entitlement(api, {**AUTO, "name": f"Studio {label.upper()} {tag}", "integration_config": config})
    who = SimpleNamespace(id=f"cus_{uuid.uuid4().hex[:12]}", email=f"{label}-{uuid.uuid4()}@example.com",
                          entitlement=entitlement["name"], devices={}, credit_name=None, credit_balance=None)
    answer = api.post(f"/entitlements/{entitlement['id']}/grants",
                      json={"customer_id": who.id, "customer_email": who.email,
                            "customer_name": f"{label.upper()} Buyer", "payment_id": f"pay_{uuid.uuid4().hex[:10]}"})
    assert answer.status_code == 201, answer.text
    grant = answer.json()
    assert grant["status"] == "Delivered", grant
    who.key, who.key_id = grant["license_key"]["key"], grant["license_key"]["id"]
    for name in devices:
        made = anonymous.post("/licenses/activate", json={"license_key": who.key, "name": name})
        assert made.status_code == 201, made.text
        who.devices[name] = made.json()["id"]
    return who


def give_credits(api, who, amount):
    """A new credit entitlement, and `amount` of it credited to `who`."""
    body = {"name": f"API calls {uuid.uuid4().hex[:8]}", "unit": "calls", "precision": 0,
            "overage_enabled": False, "rollover_enabled": False}
    made = api.post("/credit-entitlements", json=body)
    assert made.status_code == 201, made.text
    credited = api.post(f"/credit-entitlements/{made.json()['id']}/balances/{who.id}/ledger-entries",
                        json={"amount": str(amount), "entry_type": "credit"})
    assert credited.status_code == 201, credited.text
    who.credit_name, who.credit_balance = body["name"], str(amount)


def emailed_link(api, api_url, ses_store, who):
    """Asks for a portal session with send_email=true and answers the link the customer was
    emailed (on a line of its own in the text body), once it is the link the API answered."""
    answer = api.post(f"/customers/{who.id}/customer-portal/session",
                      params={"return_url": RETURN_URL, "send_email": "true"})
    assert answer.status_code == 200, answer.text
    prefix = f"{api_url}{PORTAL}/session/"

    def links():
        texts = [email["body"].get("text") or "" for email in ses_store(who.email)]
        return [line.strip() for text in texts for line in text.splitlines() if line.strip().startswith(prefix)]

    found = until(links, 10, f"an email to {who.email} with a line starting {prefix}")
    assert len(found) == 1, f"{len(found)} portal links emailed: {found}"
    link = found[0]
    assert re.fullmatch(re.escape(prefix) + r"[A-Za-z0-9_-]+", link), link
    assert answer.json()["link"] == link
    return link


def listed_instances(api, key_id):
    answer = api.get("/license_key_instances", params={"license_key_id": key_id, "page_size": 100})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


# ---------------------------------------------------------------- the browser side


def origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture(scope="module")
def chromium():
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: run infra/bootstrap.sh --browser"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def axe_source():
    assert os.path.exists(AXE), f"{AXE} is missing: run infra/bootstrap.sh"
    with open(AXE, encoding="utf-8") as f:
        return f.read()


@pytest.fixture
def shots(tmp_path):
    """Where screenshots go: docs/portal/ with PORTAL_SCREENSHOTS=1, else a temp dir, so
    a normal run exercises the same code without rewriting the committed files."""
    if os.environ.get("PORTAL_SCREENSHOTS") == "1":
        folder = os.path.join(ROOT, "docs", "portal")
        os.makedirs(folder, exist_ok=True)
        return folder
    return str(tmp_path)


@contextlib.contextmanager
def browsing(browser, api_url):
    """A fresh context (no cookie) at 1280 px and its page, which may reach only the API's
    origin: any other request is refused and recorded, as are the page's JS errors; both
    fail the test when the block ends."""
    visit = SimpleNamespace(outside=[], requested=[], errors=[])
    visit.context = browser.new_context(viewport=DESKTOP)
    visit.page = visit.context.new_page()
    visit.page.on("pageerror", lambda error: visit.errors.append(str(error)))

    def only_the_api(route):
        if origin(route.request.url) == origin(api_url):
            visit.requested.append(urlsplit(route.request.url).path)
            route.continue_()
        else:
            visit.outside.append(route.request.url)
            route.abort()

    visit.page.route("**/*", only_the_api)
    try:
        yield visit
    finally:
        visit.context.close()
    assert visit.outside == [], "the page reached beyond the API"
    assert visit.errors == [], "the page raised errors"


def assert_accessible(page, axe_source, what):
    """No axe-core violation. The page's CSP allows no inline script, so axe is not added as a
    script tag but evaluated through the DevTools protocol, which the CSP does not govern."""
    if not page.evaluate("() => 'axe' in window"):
        page.evaluate(axe_source)
    violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))""")
    for v in violations:
        print(f"axe-core on {what}: {v['id']} ({v['impact']}): {v['help']}; at {v['nodes']}")
    assert violations == [], f"axe-core found {len(violations)} violations on {what}: {violations}"


# What passes the viewport's right edge: elements (by their box), and runs of text, which
# may spill out of a box that fits (a long word in a heading, say) and so name what makes
# the page scroll; text clipped inside its box is listed too, so only elements fail alone.
OVERFLOW = """() => {
    const width = window.innerWidth;
    const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + [...e.classList].map(c => '.' + c).join('');
    const elements = [], texts = [];
    for (const e of document.querySelectorAll('body, body *')) {
        const right = e.getBoundingClientRect().right;
        if (right > width + 1) elements.push(`${name(e)} (right edge ${Math.round(right)} px)`);
    }
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
        range.selectNodeContents(t);
        const right = range.getBoundingClientRect().right;
        if (right > width + 1) texts.push(`text in ${name(t.parentElement)} (right edge ${Math.round(right)} px)`);
    }
    return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, elements, texts};
}"""


def assert_fits(page, what):
    fit = page.evaluate(OVERFLOW)
    assert fit["scrollWidth"] <= fit["innerWidth"] and fit["elements"] == [], (
        f"{what} is wider than {fit['innerWidth']} px (scrollWidth {fit['scrollWidth']}); "
        f"past the edge: {fit['elements'] + fit['texts']}")


def screenshot(page, folder, name):
    path = os.path.join(folder, name)
    page.screenshot(path=path, full_page=True)
    assert os.path.getsize(path) > 0, path


def portal_cookie(context):
    return [c for c in context.cookies() if c["name"] == "portal_session"]


def shown_grant(page, who):
    """`who`'s one grant on the page, once its entitlement's name and full key are visible."""
    grant = page.locator("#licenses article.grant")
    expect(grant).to_have_count(1)
    for part, text in (("h3", who.entitlement), ("code.key", who.key)):
        expect(grant.locator(part)).to_have_text(text)
        expect(grant.locator(part)).to_be_visible()
    return grant


def assert_nothing_of(page, other):
    """Nothing of the customer `other` is anywhere in the page's HTML, attributes included."""
    html = page.content()
    for text in (other.key, other.entitlement, other.email, other.id, *other.devices, other.credit_name):
        assert text is None or text not in html, f"the page shows {text!r}, which belongs to {other.id}"


# ---------------------------------------------------------------- the tests


def warm_up(api, api_url, who):
    """Each function the page needs has served once (the local stack starts a
    function's process at its first request, as Lambda does a cold start):
    the paint measured is a warm page's, as a customer mostly gets."""
    answer = api.post(f"/customers/{who.id}/customer-portal/session")
    assert answer.status_code == 200, answer.text
    MINTED_SECRETS.append(answer.json()["link"].rsplit("/", 1)[1])
    with httpx.Client(timeout=30, follow_redirects=True) as browser:
        assert browser.get(answer.json()["link"]).status_code == 200
        for asset in sorted(ASSETS):
            assert browser.get(api_url + asset).status_code == 200


@pytest.fixture
def named_business(api_url):
    """A fresh business with the display name its portal shows, set as its key is minted."""
    business_id = f"bus_{uuid.uuid4().hex[:16]}"
    minted = subprocess.run([os.environ["MINT_API_KEY"], f"business:{business_id}", "--name", BUSINESS_NAME],
                            check=True, capture_output=True, text=True)
    key = json.loads(minted.stdout)["key"]
    MINTED_SECRETS.append(key)
    api = Api(api_url, key)
    api.business_id = business_id
    return api


def test_a_customer_sees_copies_and_frees_their_devices(
        named_business, anonymous, api_url, ses_store, chromium, axe_source, shots, capsys):
    business = named_business
    a = customer_with_key(business, anonymous, "a", devices=("laptop", "desktop"))
    give_credits(business, a, 125)
    link = emailed_link(business, api_url, ses_store, a)
    token = link.rsplit("/", 1)[1]
    warm_up(business, api_url, a)

    with browsing(chromium, api_url) as visit:
        page, context = visit.page, visit.context
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=api_url)
        loaded = []
        page.on("response", lambda response: loaded.append(response))
        answer = page.goto(link)

        # The token became a cookie: one 303, and the URL the customer sees no longer holds it.
        assert answer.status == 200, answer.text()
        first = answer.request.redirected_from
        assert first is not None and first.url == link and first.redirected_from is None
        assert first.response().status == 303
        assert urlsplit(page.url).path == PORTAL and "session/" not in page.url and token not in page.url
        [cookie] = portal_cookie(context)
        assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Lax", PORTAL), cookie
        # A redirect's target is not routed again: the responses name every request.
        assert {urlsplit(r.url).path for r in loaded} == {urlsplit(link).path, PORTAL, *ASSETS}, \
            "only its HTML, CSS and JS"

        # Its weight and first paint, before anything else happens on the page.
        weighed = {r.url: len(r.body()) for r in loaded
                   if r.status == 200 and r.request.resource_type in ("document", "stylesheet", "script")}
        weight = sum(weighed.values())
        fcp = page.wait_for_function(
            "() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime", timeout=5_000).json_value()
        with capsys.disabled():  # shown under -q too, so the CI log has the figures
            print(f"\ncustomer portal: {weight:,} bytes of HTML + CSS + JS "
                  f"({', '.join(f'{urlsplit(u).path} {n:,}' for u, n in weighed.items())}); "
                  f"first contentful paint {fcp:.0f} ms (from opening the emailed link, redirect included)")
        assert len(weighed) == 3, weighed
        assert weight <= MAX_WEIGHT, f"the portal weighs {weight:,} bytes, more than {MAX_WEIGHT:,}"
        assert fcp < MAX_FCP_MS, f"first contentful paint took {fcp:.0f} ms"

        # What the customer sees.
        expect(page.locator("h1")).to_have_text(BUSINESS_NAME)
        back = page.locator("a.return")
        expect(back).to_have_attribute("href", RETURN_URL)
        expect(back).to_contain_text("Go back to")
        grant = shown_grant(page, a)
        expect(grant.locator(".status")).to_have_text("Delivered")
        copy = grant.locator("button.copy")
        expect(copy).to_have_attribute("data-copy", a.key)
        devices = grant.locator("ul.devices li.device")
        expect(devices).to_have_count(2)
        for name in a.devices:
            expect(devices.filter(has_text=name)).to_have_count(1)
        expect(page.locator("#credits")).to_contain_text(a.credit_name)
        expect(page.locator("#credits")).to_contain_text(a.credit_balance)

        assert_accessible(page, axe_source, "the portal")
        screenshot(page, shots, "portal-desktop.png")
        page.set_viewport_size(NARROW)
        assert_fits(page, "the portal")
        screenshot(page, shots, "portal-320.png")

        # Copy puts the whole key on the clipboard, and says so.
        copy.click()
        expect(copy).to_contain_text("Copied")
        assert page.evaluate("() => navigator.clipboard.readText()") == a.key

        # Freeing the laptop asks first, then comes back to the portal with one device.
        dialogs = []

        def accept(dialog):
            dialogs.append(dialog.type)
            dialog.accept()

        page.once("dialog", accept)
        laptop = devices.filter(has_text="laptop")
        with page.expect_navigation():
            laptop.locator("form button[type=submit]", has_text="Free this device").click()
        assert dialogs == ["confirm"]
        assert urlsplit(page.url).path == PORTAL
        expect(page.locator('p[role="status"]')).to_contain_text(re.compile("freed", re.IGNORECASE))
        expect(devices).to_have_count(1)
        expect(devices).to_contain_text("desktop")
        assert [i["id"] for i in listed_instances(business, a.key_id)] == [a.devices["desktop"]]

        assert_accessible(page, axe_source, "the portal after freeing a device")
        assert_fits(page, "the portal after freeing a device")


def test_a_customer_sees_only_their_own(
        business, other_business, anonymous, api_url, ses_store, chromium, axe_source):
    a = customer_with_key(business, anonymous, "a", devices=("laptop", "desktop"))
    give_credits(business, a, 125)
    b = customer_with_key(business, anonymous, "b")
    link = emailed_link(business, api_url, ses_store, b)

    with browsing(chromium, api_url) as visit:
        page = visit.page
        assert page.goto(link).status == 200
        shown_grant(page, b)
        assert_nothing_of(page, a)
        expect(page.locator("li.device")).to_have_count(0)
        assert_accessible(page, axe_source, "the portal of a customer with no device")

    # Another business knows nothing of A: it gets no link to A's portal.
    foreign = other_business.post(f"/customers/{a.id}/customer-portal/session", params={"return_url": RETURN_URL})
    assert foreign.status_code == 404 and foreign.json()["code"] == "NOT_FOUND", foreign.text


def test_without_a_session_the_portal_says_the_link_expired(chromium, api_url, axe_source, shots):
    with browsing(chromium, api_url) as visit:
        page, context = visit.page, visit.context
        expired = re.compile("expired", re.IGNORECASE)

        answer = page.goto(f"{api_url}{PORTAL}")
        assert answer.status == 401, answer.text()
        expect(page.locator("h1")).to_contain_text(expired)

        forged = {"name": "portal_session", "value": secrets.token_urlsafe(32), "domain": urlsplit(api_url).hostname,
                  "path": PORTAL, "httpOnly": True, "sameSite": "Lax"}
        context.add_cookies([forged])
        answer = page.goto(f"{api_url}{PORTAL}")
        assert answer.status == 401, answer.text()
        expect(page.locator("h1")).to_contain_text(expired)
        context.clear_cookies()

        # A link that was never issued (43 url-safe characters, as a real token).
        answer = page.goto(f"{api_url}{PORTAL}/session/{secrets.token_urlsafe(32)}")
        assert answer.status == 401, answer.text()
        expect(page.locator("h1")).to_contain_text(expired)
        assert portal_cookie(context) == [], "a forged link set a session cookie"
        assert {p for p in visit.requested if not p.startswith(f"{PORTAL}/session/")} <= {PORTAL, *ASSETS}

        assert_accessible(page, axe_source, "the expired page")
        screenshot(page, shots, "expired-desktop.png")
        page.set_viewport_size(NARROW)
        assert_fits(page, "the expired page")
        screenshot(page, shots, "expired-320.png")
