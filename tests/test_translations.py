"""Translations of an entitlement (SPEC §1.7), through the Python SDK's
`entitlements.translations.*` and `entitlements.retrieve/list(locale=)`.
"""

import concurrent.futures

import dodopayments
import pytest
from dodopayments import DodoPayments

from test_grants import MANUAL, new_entitlement

LOCALES = ["ar", "ca", "zh", "nl", "en", "fr", "de", "he", "id", "it", "ja", "ka", "ko", "ms", "pl", "pt", "ro",
           "ru", "es", "sv", "th", "tr"]


@pytest.fixture
def client(api_url, business):
    return DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0)


def licensed(business):
    body = {**MANUAL, "name": "Pro", "description": "For one workstation",
            "integration_config": {**MANUAL["integration_config"], "activation_message": "Welcome aboard"}}
    return new_entitlement(business, body)


def test_translations_round_trip_through_the_sdk(business, client):
    ent = licensed(business)
    created = client.entitlements.translations.with_raw_response.update(
        "fr", id=ent["id"], name="Licence Pro", activation_message="Bienvenue à bord")
    assert created.status_code == 201
    fr = created.parse()
    assert (fr.locale, fr.name, fr.description, fr.activation_message) == ("fr", "Licence Pro", None, "Bienvenue à bord")
    client.entitlements.translations.update("de", id=ent["id"], description="Für einen Arbeitsplatz")
    replaced = client.entitlements.translations.with_raw_response.update("fr", id=ent["id"], name="Licence Pro 2")
    assert replaced.status_code == 200
    assert replaced.parse().activation_message is None, "a put replaces the whole translation"

    listed = client.entitlements.translations.list(ent["id"])
    assert [t.locale for t in listed.items] == ["fr", "de"], "in the order of the locale list"
    assert [t.locale for t in client.entitlements.translations.list(ent["id"], locale=["de"]).items] == ["de"]
    # The Python SDK sends a list as `fr,de`; a repeated parameter works too.
    both = business.get(f"/entitlements/{ent['id']}/translations", params=[("locale", "de"), ("locale", "fr")])
    assert [t["locale"] for t in both.json()["items"]] == ["fr", "de"]

    client.entitlements.translations.delete("de", id=ent["id"])
    assert [t.locale for t in client.entitlements.translations.list(ent["id"]).items] == ["fr"]
    with pytest.raises(dodopayments.NotFoundError):
        client.entitlements.translations.delete("de", id=ent["id"])


def test_a_read_in_a_locale_falls_back_field_by_field(business, client):
    ent = licensed(business)
    client.entitlements.translations.update("fr", id=ent["id"], name="Licence Pro")
    client.entitlements.translations.update("ja", id=ent["id"], description="1台用", activation_message="ようこそ")

    fr = client.entitlements.retrieve(ent["id"], locale="fr")
    assert (fr.name, fr.description, fr.integration_config.activation_message) == (
        "Licence Pro", "For one workstation", "Welcome aboard")
    ja = client.entitlements.retrieve(ent["id"], locale="ja")
    assert (ja.name, ja.description, ja.integration_config.activation_message) == ("Pro", "1台用", "ようこそ")
    es = client.entitlements.retrieve(ent["id"], locale="es")
    assert (es.name, es.description) == ("Pro", "For one workstation"), "a locale with no translation: the base text"
    base = client.entitlements.retrieve(ent["id"])
    assert base.name == "Pro" and base.integration_config.activation_message == "Welcome aboard"

    listed = {e.id: e for e in client.entitlements.list(locale="fr")}
    assert listed[ent["id"]].name == "Licence Pro"


def test_every_one_of_the_22_locales_is_taken(business, client):
    ent = licensed(business)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda code: client.entitlements.translations.update(code, id=ent["id"], name=f"Pro {code}"),
                      LOCALES))
    assert [t.locale for t in client.entitlements.translations.list(ent["id"]).items] == LOCALES


@pytest.mark.parametrize("request_", [
    ("PUT", "/translations/xx", {"name": "x"}),
    ("PUT", "/translations/FR", {"name": "x"}),
    ("PUT", "/translations/fr-FR", {"name": "x"}),
    ("DELETE", "/translations/xx", None),
    ("GET", "/translations?locale=fr,xx", None),
    ("GET", "?locale=xx", None),
    ("PUT", "/translations/fr", {"name": ""}),
    ("PUT", "/translations/fr", {"instructions": "Unzip it"}),
    ("PUT", "/translations/fr", {"description": "x" * 2501}),
])
def test_a_bad_locale_or_field_is_422_and_changes_nothing(business, request_):
    ent = licensed(business)
    method, suffix, body = request_
    answer = business.request(method, f"/entitlements/{ent['id']}{suffix}", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert business.get(f"/entitlements/{ent['id']}/translations").json()["items"] == []
    assert business.get("/entitlements", params={"locale": "xx"}).status_code == 422


def test_another_business_or_a_deleted_entitlement_is_404(business, other_business):
    ent = licensed(business)
    assert business.put(f"/entitlements/{ent['id']}/translations/fr", json={"name": "Licence"}).status_code == 201
    for method in ("PUT", "GET", "DELETE"):
        path = f"/entitlements/{ent['id']}/translations" + ("" if method == "GET" else "/fr")
        answer = other_business.request(method, path, json={"name": "x"} if method == "PUT" else None)
        assert answer.status_code == 404, (method, answer.text)
    assert business.delete(f"/entitlements/{ent['id']}").status_code == 204
    assert business.get(f"/entitlements/{ent['id']}/translations").status_code == 404
    assert business.put(f"/entitlements/{ent['id']}/translations/de", json={"name": "x"}).status_code == 404
