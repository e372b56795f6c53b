"""Products: which entitlements a product grants, as the Dodo SDK's
`products.update` and `products.retrieve` send and read them."""

import concurrent.futures
import uuid

import dodopayments
import pytest
from dodopayments import DodoPayments

KEY_CONFIG = {"activations_limit": 3}


@pytest.fixture
def client(api_url, business):
    return DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0)


def entitlement(api, name="Pro"):
    answer = api.post(
        "/entitlements",
        json={"name": name, "integration_type": "license_key", "integration_config": KEY_CONFIG},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def product_id():
    return f"pdt_{uuid.uuid4().hex[:20]}"


def stored_product(table, business_id, product):
    return table.get_item(Key={"pk": f"BIZ#{business_id}", "sk": f"PRODUCT#{product}"}, ConsistentRead=True).get("Item")


def attached(api, product):
    answer = api.get(f"/products/{product}")
    assert answer.status_code == 200, answer.text
    return [e["id"] for e in answer.json()["entitlements"]]


def test_sdk_attaches_replaces_keeps_and_empties(client, business):
    pro, team = entitlement(business, "Pro"), entitlement(business, "Team")
    product = product_id()
    with pytest.raises(dodopayments.NotFoundError):
        client.products.retrieve(product)

    assert client.products.update(product, entitlements=[{"entitlement_id": pro}, {"entitlement_id": team}]) is None
    read = client.products.retrieve(product)
    assert read.product_id == product
    assert read.business_id == business.business_id
    assert [(e.id, e.name, e.integration_type) for e in read.entitlements] == [
        (pro, "Pro", "license_key"),
        (team, "Team", "license_key"),
    ]
    assert read.entitlements[0].integration_config.activations_limit == 3
    assert read.credit_entitlements == []

    # An omitted array is left alone, another field of the SDK's is ignored.
    client.products.update(product, name="Renamed at the provider", credit_entitlements=[])
    assert [e.id for e in client.products.retrieve(product).entitlements] == [pro, team]

    client.products.update(product, entitlements=[{"entitlement_id": team}])
    assert [e.id for e in client.products.retrieve(product).entitlements] == [team]

    client.products.update(product, entitlements=[])
    assert client.products.retrieve(product).entitlements == []


def test_patch_answers_the_product_and_names_each_entitlement_once(business):
    pro = entitlement(business)
    product = product_id()
    answer = business.patch(
        f"/products/{product}", json={"entitlements": [{"entitlement_id": pro}, {"entitlement_id": pro}]}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [e["id"] for e in body["entitlements"]] == [pro]
    assert body == business.get(f"/products/{product}").json()


def test_another_business_cannot_attach_or_see(business, other_business, table):
    mine, theirs = entitlement(business), entitlement(other_business)
    product = product_id()
    assert business.patch(f"/products/{product}", json={"entitlements": [{"entitlement_id": mine}]}).status_code == 200

    refused = business.patch(f"/products/{product}", json={"entitlements": [{"entitlement_id": theirs}]})
    assert refused.status_code == 404
    assert refused.json()["code"] == "NOT_FOUND"
    assert attached(business, product) == [mine]
    assert stored_product(table, business.business_id, product)["version"] == 1

    # The same provider product id in another business is another product.
    assert other_business.get(f"/products/{product}").status_code == 404
    assert other_business.patch(f"/products/{product}", json={"entitlements": []}).status_code == 200
    assert attached(business, product) == [mine]


def test_deleted_entitlements_are_refused_and_left_out(business):
    kept, deleted = entitlement(business, "Kept"), entitlement(business, "Deleted")
    product = product_id()
    body = {"entitlements": [{"entitlement_id": kept}, {"entitlement_id": deleted}]}
    assert business.patch(f"/products/{product}", json=body).status_code == 200
    assert business.delete(f"/entitlements/{deleted}").status_code == 204
    assert attached(business, product) == [kept]

    again = business.patch(f"/products/{product}", json=body)
    assert again.status_code == 404
    assert "entitlement" in again.json()["message"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"entitlements": [{"entitlement_id": f"ent_{i}"} for i in range(51)]}, "entitlements"),
        ({"entitlements": [{}]}, "entitlement_id"),
        ({"entitlements": [{"entitlement_id": ""}]}, "entitlement_id"),
        ({"entitlements": {"entitlement_id": "x"}}, "entitlements"),
        ({"credit_entitlements": [{"credit_entitlement_id": "c"}] * 6}, "credit_entitlements"),
        ({"credit_entitlements": [{"credit_entitlement_id": "c"}]}, "credits_amount"),
    ],
)
def test_bad_bodies_are_422_by_name_and_change_nothing(business, table, body, field):
    product = product_id()
    answer = business.patch(f"/products/{product}", json=body)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["message"]
    assert stored_product(table, business.business_id, product) is None


def test_a_credit_entitlement_that_does_not_exist_is_404(business, table):
    product = product_id()
    body = {"credit_entitlements": [{"credit_entitlement_id": "cde_missing", "credits_amount": "100"}]}
    answer = business.patch(f"/products/{product}", json=body)
    assert answer.status_code == 404
    assert "credit entitlement" in answer.json()["message"]
    assert stored_product(table, business.business_id, product) is None


def test_a_replayed_patch_writes_once(business, table):
    pro = entitlement(business)
    product = product_id()
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"entitlements": [{"entitlement_id": pro}]}
    first = business.patch(f"/products/{product}", json=body, headers=headers)
    again = business.patch(f"/products/{product}", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert stored_product(table, business.business_id, product)["version"] == 1


def test_concurrent_patches_each_land_once_and_the_last_one_stays(business, table):
    ids = [entitlement(business, f"Plan {i}") for i in range(12)]
    product = product_id()

    def attach(entitlement_id):
        return business.patch(f"/products/{product}", json={"entitlements": [{"entitlement_id": entitlement_id}]})

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(attach, ids))
    assert [a.status_code for a in answers] == [200] * 12, [a.text for a in answers if a.status_code != 200]
    # Each write was conditioned on the version it read: none overwrote another unseen.
    assert stored_product(table, business.business_id, product)["version"] == 12
    [final] = attached(business, product)
    assert final in ids
