"""The hub's TAXII 2.1 server (api/taxii.py over service/hub_taxii.py): every endpoint, media types, errors as
TAXII error resources, rights, paging, submissions and their status — on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select

from mamori.intel.tlp import TLP2_IDS, Tlp
from mamori.store.hub_models import TaxiiObject
from support.hub import IDENTITIES, ROOT, TAXII, Hub, make_hub

T = "2026-03-03T01:00:00.000Z"


@pytest.fixture
def hub(database) -> Iterator[Hub]:
    engine: Engine = database.engine()
    yield make_hub(engine)
    engine.dispose()


def indicator(
    address: str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", *, modified: str = T, **extra: Any
) -> dict[str, Any]:
    ident = extra.pop("id", f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, address)}")
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": ident,
        "created": T,
        "modified": modified,
        "pattern": f"[cryptocurrency-wallet:value = '{address}']",
        "pattern_type": "stix",
        "valid_from": T,
        **extra,
    }


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == TAXII
    body = response.json()
    assert body["error_code"] == code and body["http_status"] == str(status)
    assert body["title"] and body["description"]  # English and Japanese
    return dict(body)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == TAXII
    return response.json()


# --- discovery, API roots, collections ----------------------------------------------------------------------------
def test_discovery_lists_the_api_roots_as_urls(hub: Hub) -> None:
    body = ok(hub.get("exa", "/taxii2/"))
    assert body["api_roots"] == [f"https://hub.test/taxii2/{ROOT}/"]
    assert body["default"] == body["api_roots"][0]
    assert ok(hub.get("exa", "/taxii2"))["title"] == body["title"]  # with or without the final slash


def test_api_root_resource(hub: Hub) -> None:
    body = ok(hub.get("exd", hub.url(ROOT)))
    assert body == {"title": "ISAC", "description": "the industry's hub", "versions": [TAXII],
                    "max_content_length": 2_000_000}  # fmt: skip
    error_of(hub.get("exa", hub.url("nowhere")), 404, "NOT_FOUND")


def test_collections_show_each_organisation_only_its_own_with_its_rights(hub: Hub) -> None:
    seen = {
        c["id"]: (c["can_read"], c["can_write"])
        for c in ok(hub.get("exb", hub.url(ROOT, "collections")))["collections"]
    }
    assert seen == {hub.shared: (True, True), hub.readonly: (False, True)}
    assert ok(hub.get("exd", hub.url(ROOT, "collections"))) == {}
    resource = ok(hub.get("exa", hub.url(ROOT, "collections", hub.readonly)))
    assert resource["can_read"] is True and resource["can_write"] is False
    assert resource["media_types"] == ["application/stix+json;version=2.1"]
    error_of(hub.get("exd", hub.url(ROOT, "collections", hub.shared)), 404, "NOT_FOUND")  # no rights: not there


# --- authentication and media types -------------------------------------------------------------------------------
def test_every_endpoint_needs_credentials(hub: Hub) -> None:
    response = hub.client.get("/taxii2/", headers={"Accept": TAXII})
    error_of(response, 401, "TAXII_AUTH_REQUIRED")
    assert "Basic" in response.headers["www-authenticate"] and "Bearer" in response.headers["www-authenticate"]
    error_of(hub.client.get("/taxii2/", headers={"Authorization": "Bearer mk_nope_nope"}), 401, "AUTH_INVALID")
    error_of(hub.client.get("/taxii2/", headers={"Authorization": "Digest x"}), 401, "AUTH_INVALID")
    error_of(hub.client.get(hub.objects_url(hub.shared)), 401, "TAXII_AUTH_REQUIRED")


def test_http_basic_with_the_hashed_password(hub: Hub) -> None:
    assert hub.client.get("/taxii2/", headers=hub.basic("exa")).status_code == 200
    error_of(hub.client.get("/taxii2/", headers=hub.basic("exa", "wrong password!")), 401, "AUTH_INVALID")
    error_of(hub.client.get("/taxii2/", headers=hub.basic("nobody")), 401, "AUTH_INVALID")
    error_of(hub.client.get("/taxii2/", headers={"Authorization": "Basic %%%"}), 401, "AUTH_INVALID")


@pytest.mark.parametrize(
    "accept",
    ["application/json", "application/taxii+json;version=2.0", "application/stix+json;version=2.1",
     "application/taxii+json;version=2.1;q=0"],
)  # fmt: skip
def test_a_client_that_takes_no_taxii_2_1_gets_406(hub: Hub, accept: str) -> None:
    response = hub.client.get("/taxii2/", headers={**hub.auth("exa"), "Accept": accept})
    error_of(response, 406, "TAXII_NOT_ACCEPTABLE")


@pytest.mark.parametrize(
    "accept", ["application/taxii+json", "*/*", "application/*", "text/html, application/taxii+json;version=2.1"]
)
def test_taxii_without_version_or_any_type_is_accepted(hub: Hub, accept: str) -> None:
    assert hub.client.get("/taxii2/", headers={**hub.auth("exa"), "Accept": accept}).status_code == 200


def test_unknown_paths_and_methods(hub: Hub) -> None:
    error_of(hub.get("exa", "/taxii2/isac/nowhere/"), 404, "ROUTE_NOT_FOUND")
    error_of(hub.get("exa", hub.url(ROOT, "collections", hub.shared, "objects", "x", "y")), 404, "ROUTE_NOT_FOUND")
    response = hub.client.put(hub.objects_url(hub.shared), headers=hub.auth("exa"))
    error_of(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET, POST"
    assert hub.client.get("/v1/whoami").status_code == 418  # not the hub's: passed on to the app behind


# --- submissions --------------------------------------------------------------------------------------------------
def test_a_submission_keeps_the_valid_objects_and_refuses_the_others_with_reasons(hub: Hub) -> None:
    good = indicator()
    bad = indicator("0x00000000000000000000000000000000000000aa", pattern="[not a pattern")
    status = ok(hub.post("exa", hub.shared, [good, bad, {"type": "indicator"}]), 202)
    assert status["status"] == "complete" and status["total_count"] == 3
    assert status["success_count"] == 1 and status["successes"] == [
        {"id": good["id"], "version": "2026-03-03T01:00:00.000000Z"}
    ]
    assert status["failure_count"] == 2 and status["pending_count"] == 0
    assert "STIX_PATTERN_INVALID" in status["failures"][0]["message"]
    assert status["failures"][0]["id"] == bad["id"]
    stored = ok(hub.get("exa", hub.url(ROOT, "status", status["id"])))
    assert stored == status
    error_of(hub.get("exb", hub.url(ROOT, "status", status["id"])), 404, "NOT_FOUND")  # another organisation's
    objects = ok(hub.get("exa", hub.objects_url(hub.shared)))["objects"]
    assert objects == [good]


def test_the_same_object_twice_is_a_success_and_stored_once(hub: Hub) -> None:
    first = ok(hub.post("exa", hub.shared, [indicator()]), 202)
    again = ok(hub.post("exb", hub.shared, [indicator()]), 202)
    assert first["successes"] == again["successes"]
    with hub.engine.connect() as connection:
        assert len(connection.execute(select(TaxiiObject.seq)).all()) == 1


def test_submission_errors(hub: Hub) -> None:
    url, headers = hub.objects_url(hub.shared), {**hub.auth("exa"), "Accept": TAXII}
    response = hub.client.post(url, content=b"{}", headers={**headers, "Content-Type": "application/json"})
    error_of(response, 415, "TAXII_MEDIA_TYPE_UNSUPPORTED")
    response = hub.client.post(url, content=b"{", headers={**headers, "Content-Type": TAXII})
    error_of(response, 400, "TAXII_ENVELOPE_INVALID")
    response = hub.client.post(url, content=b'{"objects": {}}', headers={**headers, "Content-Type": TAXII})
    error_of(response, 400, "TAXII_ENVELOPE_INVALID")
    big = orjson.dumps({"objects": [indicator(description="x" * 2_000_000)]})
    response = hub.client.post(url, content=big, headers={**headers, "Content-Type": TAXII})
    error_of(response, 413, "BODY_TOO_LARGE")

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while it arrives
        yield b'{"objects": ['
        for _ in range(30):
            yield b" " * 100_000
        yield b"]}"

    response = hub.client.post(url, content=chunks(), headers={**headers, "Content-Type": TAXII})
    error_of(response, 413, "BODY_TOO_LARGE")
    with hub.engine.connect() as connection:
        assert connection.execute(select(TaxiiObject.seq)).first() is None  # nothing written by any of them


def test_rights_on_a_collection(hub: Hub) -> None:
    error_of(hub.post("exa", hub.readonly, [indicator()]), 403, "TAXII_PERMISSION_DENIED")  # reads only
    ok(hub.post("exb", hub.readonly, [indicator()]), 202)  # writes only ...
    error_of(hub.get("exb", hub.objects_url(hub.readonly)), 403, "TAXII_PERMISSION_DENIED")  # ... and cannot read
    error_of(hub.get("exb", hub.url(ROOT, "collections", hub.readonly, "manifest")), 403, "TAXII_PERMISSION_DENIED")
    error_of(hub.post("exd", hub.readonly, [indicator()]), 404, "NOT_FOUND")
    assert len(ok(hub.get("exa", hub.objects_url(hub.readonly)))["objects"]) == 1


def test_anonymous_submission_carries_the_operators_identity(hub: Hub) -> None:
    sighting = {
        "type": "sighting", "spec_version": "2.1", "id": "sighting--6b0f3f59-6f9a-4b8a-9d55-0f0c5d1c2e11",
        "created": T, "modified": T, "sighting_of_ref": indicator()["id"], "created_by_ref": IDENTITIES["exa"],
        "where_sighted_refs": [IDENTITIES["exa"]], "count": 1,
    }  # fmt: skip
    own_identity = {"type": "identity", "spec_version": "2.1", "id": IDENTITIES["exa"], "created": T,
                    "modified": T, "name": "Exchange A", "identity_class": "organization"}  # fmt: skip
    status = ok(hub.post("exa-anon", hub.shared, [sighting, own_identity]), 202)
    assert status["success_count"] == 1 and "HUB_ANONYMITY_BREACH" in status["failures"][0]["message"]
    served = ok(hub.get("exb", hub.objects_url(hub.shared)))["objects"]
    assert served[0]["created_by_ref"] == IDENTITIES["isac"] and served[0]["where_sighted_refs"] == [IDENTITIES["isac"]]
    assert IDENTITIES["exa"] not in orjson.dumps(served).decode()
    with hub.engine.connect() as connection:  # the operator alone can still tell who it was
        row = connection.execute(select(TaxiiObject.producer_id, TaxiiObject.submitted_by)).one()
    assert row.producer_id == "exa" and row.submitted_by == hub.tokens["exa-anon"].split("_")[1]


def test_audience_headers_name_members(hub: Hub) -> None:
    strict = indicator(object_marking_refs=[TLP2_IDS[Tlp.AMBER_STRICT]])
    response = hub.post("exa", hub.shared, [strict], **{"X-Mamori-Share-With": "exc, nobody"})
    assert error_of(response, 422, "HUB_AUDIENCE_INVALID")["details"]["header"] == "X-Mamori-Share-With"
    response = hub.post("exa", hub.shared, [strict], **{"X-Mamori-Recipients": "ghost"})
    assert error_of(response, 422, "HUB_AUDIENCE_INVALID")["details"]["header"] == "X-Mamori-Recipients"
    ok(hub.post("exa", hub.shared, [strict], **{"X-Mamori-Share-With": "exc"}), 202)
    assert ok(hub.get("exc", hub.objects_url(hub.shared)))["objects"] == [strict]
    assert ok(hub.get("exb", hub.objects_url(hub.shared))) == {}  # AMBER+STRICT: not the sharing group


# --- reads ------------------------------------------------------------------------------------------------------
def test_pages_follow_next_without_gaps_or_repeats_and_carry_the_date_headers(hub: Hub) -> None:
    addresses = [f"0x{n:040x}" for n in range(2_500)]
    ok(hub.post("exa", hub.shared, [indicator(a) for a in addresses]), 202)  # one instant for all 2,500
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 1000}
    pages = 0
    while True:
        response = hub.get("exb", hub.objects_url(hub.shared), **params)
        page = ok(response)
        pages += 1
        ids = [o["id"] for o in page["objects"]]
        seen += ids
        assert response.headers["x-taxii-date-added-first"] < response.headers["x-taxii-date-added-last"]
        if not page["more"]:
            assert "next" not in page
            break
        params["next"] = page["next"]
    assert pages == 3 and len(seen) == len(set(seen)) == 2_500
    # added_after the last header of a page continues exactly where that page ended
    first = hub.get("exb", hub.objects_url(hub.shared), limit=700)
    after = first.headers["x-taxii-date-added-last"]
    rest = ok(hub.get("exb", hub.objects_url(hub.shared), added_after=after, limit=5000))
    assert [o["id"] for o in first.json()["objects"]] + [o["id"] for o in rest["objects"]] == seen


def test_a_cursor_of_other_filters_is_refused(hub: Hub) -> None:
    ok(hub.post("exa", hub.shared, [indicator(f"0x{n:040x}") for n in range(3)]), 202)
    page = ok(hub.get("exa", hub.objects_url(hub.shared), limit=1))
    error_of(hub.get("exa", hub.objects_url(hub.shared), next=page["next"], **{"match[type]": "indicator"}),
             400, "TAXII_QUERY_INVALID")  # fmt: skip
    error_of(hub.get("exa", hub.objects_url(hub.shared), limit="0"), 400, "TAXII_QUERY_INVALID")


def test_manifest_object_and_versions(hub: Hub) -> None:
    v1, v2 = indicator(), indicator(modified="2026-03-03T01:30:00.000Z")
    ok(hub.post("exa", hub.shared, [v2]), 202)
    hub.clock.advance(seconds=1)
    ok(hub.post("exa", hub.shared, [v1]), 202)  # an older version arrives later
    collection = hub.url(ROOT, "collections", hub.shared)
    manifest = ok(hub.get("exb", collection + "manifest/", **{"match[version]": "all"}))["objects"]
    assert [(m["id"], m["version"]) for m in manifest] == [(v1["id"], "2026-03-03T01:30:00.000000Z"),
                                                           (v1["id"], "2026-03-03T01:00:00.000000Z")]  # fmt: skip
    assert all(m["media_type"] == "application/stix+json;version=2.1" for m in manifest)
    one = collection + f"objects/{v1['id']}/"
    assert ok(hub.get("exb", one))["objects"] == [v2]  # the last version by default
    assert ok(hub.get("exb", one, **{"match[version]": "first"}))["objects"] == [v1]
    assert ok(hub.get("exb", one, **{"match[version]": "2026-03-03T01:00:00Z"}))["objects"] == [v1]
    assert ok(hub.get("exb", one, **{"match[version]": "2020-01-01T00:00:00Z"})) == {}  # exists; no such version
    versions = ok(hub.get("exb", one + "versions/"))
    assert versions == {"more": False, "versions": ["2026-03-03T01:30:00.000000Z", "2026-03-03T01:00:00.000000Z"]}
    error_of(hub.get("exb", collection + "objects/indicator--00000000-0000-4000-8000-000000000000/"), 404, "NOT_FOUND")
    error_of(hub.get("exb", collection + "objects/indicator--00000000-0000-4000-8000-000000000000/versions/"),
             404, "NOT_FOUND")  # fmt: skip


def test_delete_needs_both_rights_and_the_producers_organisation(hub: Hub) -> None:
    ok(hub.post("exc", hub.readonly, [indicator()]), 202)
    one = hub.url(ROOT, "collections", hub.readonly, "objects", indicator()["id"])
    error_of(hub.client.delete(one, headers=hub.auth("exa")), 403, "TAXII_PERMISSION_DENIED")  # read only
    error_of(hub.client.delete(one, headers=hub.auth("exb")), 403, "TAXII_PERMISSION_DENIED")  # write only
    error_of(hub.client.delete(one, headers=hub.auth("exd")), 404, "NOT_FOUND")  # neither
    ok(hub.post("exa", hub.shared, [indicator(object_marking_refs=[TLP2_IDS[Tlp.GREEN]])]), 202)
    shared_one = hub.url(ROOT, "collections", hub.shared, "objects", indicator()["id"])
    error_of(hub.client.delete(shared_one, headers=hub.auth("exc")), 403, "TAXII_PERMISSION_DENIED")  # not its own
    ok(hub.post("exa", hub.shared, [indicator(modified="2026-03-03T01:30:00.000Z")]), 202)  # AMBER: exc can't see
    latest = hub.client.delete(shared_one, params={"match[version]": "last"}, headers=hub.auth("exc"))
    error_of(latest, 404, "NOT_FOUND")
    assert hub.client.delete(one, headers=hub.auth("exc")).status_code == 200
    error_of(hub.get("exc", one), 404, "NOT_FOUND")
    # The operator may delete what others produced, but TLP binds it too: the AMBER version is not for it to see.
    error_of(hub.client.delete(shared_one, headers=hub.auth("isac")), 404, "NOT_FOUND")
    first = {"match[version]": "first"}
    assert hub.client.delete(shared_one, params=first, headers=hub.auth("isac")).status_code == 200
    assert ok(hub.get("exa", shared_one, **{"match[version]": "all"}))["objects"][0]["modified"].startswith(
        "2026-03-03T01:30"
    )


def test_delete_one_version_keeps_the_first_and_last_marks_right(hub: Hub) -> None:
    versions = [indicator(modified=f"2026-03-03T01:{m:02d}:00.000Z") for m in (0, 10, 20)]
    ok(hub.post("exa", hub.shared, versions), 202)
    one = hub.url(ROOT, "collections", hub.shared, "objects", versions[0]["id"])
    response = hub.client.delete(one, params={"match[version]": "last"}, headers=hub.auth("exa"))
    assert response.status_code == 200
    assert ok(hub.get("exa", one))["objects"] == [versions[1]]  # the new last version
    hub.client.delete(one, params={"match[version]": "first"}, headers=hub.auth("exa"))
    assert ok(hub.get("exa", one, **{"match[version]": "first"}))["objects"] == [versions[1]]


def test_the_guard_service_serves_the_hub_under_taxii2(exchange) -> None:  # type: ignore[no-untyped-def]
    """`mamori serve` (create_app): /taxii2/ is the hub, with TAXII's rules; /v1 is still the guard."""
    from mamori.service.hub_collections import add_api_root
    from mamori.service.hub_members import add_account, add_organisation

    with exchange.engine.begin() as connection:
        add_organisation(connection, "member", "Member", IDENTITIES["exa"], now_us=1)
        add_api_root(connection, "node", "Member node")
        token = add_account(connection, "member", "member-bot", now_us=1)
    response = exchange.client.get("/taxii2/", headers={"Accept": TAXII})
    error_of(response, 401, "TAXII_AUTH_REQUIRED")
    discovery = exchange.client.get("/taxii2/", headers={"Authorization": f"Bearer {token}", "Accept": TAXII})
    assert ok(discovery)["api_roots"] == ["http://testserver/taxii2/node/"]
    # A TAXII body is not refused by the guard's JSON-only rule, and the guard's keys are not the hub's.
    posted = exchange.client.post("/taxii2/node/collections/x/objects/", content=b"{}",
                                  headers={"Authorization": f"Bearer {token}", "Content-Type": TAXII})  # fmt: skip
    error_of(posted, 404, "NOT_FOUND")
    guard_key = exchange.keys.initiator
    error_of(exchange.client.get("/taxii2/", headers={"Authorization": f"Bearer {guard_key}"}), 401, "AUTH_INVALID")
    assert exchange.client.get("/v1/whoami", headers={"Authorization": f"Bearer {guard_key}"}).status_code == 200


def test_a_page_stops_at_its_byte_budget_and_next_goes_on(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    from mamori.service import hub_taxii

    objects = [indicator(f"0x{n:040x}") for n in range(20)]
    ok(hub.post("exa", hub.shared, objects), 202)
    monkeypatch.setattr(hub_taxii, "PAGE_BYTES", 2_000)  # about six of these objects
    seen, params, pages = [], {"limit": 1000}, 0
    while True:
        page = ok(hub.get("exa", hub.objects_url(hub.shared), **params))
        pages += 1
        assert page["objects"] and sum(len(orjson.dumps(o)) for o in page["objects"]) <= 2_000
        seen += [o["id"] for o in page["objects"]]
        if not page["more"]:
            break
        params["next"] = page["next"]
    assert seen == [o["id"] for o in objects] and pages > 3
