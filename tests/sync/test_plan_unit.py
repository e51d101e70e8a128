"""The planner with plain data: no store, no HTTP."""

from wsync.catalogue import Attribute, Image, Product, Variation
from wsync.ledger.items import ItemRecord
from wsync.mapping.images import normalise_url
from wsync.sync.images import basename_key, match_by_basename, rename_chain
from wsync.sync.options import ImportOptions
from wsync.sync.payload import content_hash, product_payload
from wsync.sync.plan import complete_variation_attributes, plan_missing, plan_products, plan_variations


class Resolver:
    def category_ids(self, paths):
        return [len(p) * 100 for p in paths]

    def attribute_id(self, name):
        return 7 if name == "Color" else None


def shirt(price="10.00"):
    return Product(key="S1", sku="S1", name="Shirt", regular_price=price, categories=[["Clothing", "Shirts"]],
                   tags=["cotton"], images=[Image("https://cdn.example/s1.jpg")])


def test_new_product_is_created_with_full_payload_and_meta():
    plans = plan_products([shirt()], {}, {}, "feed", Resolver(), ImportOptions(), job_id=1)
    assert [p.action for p in plans] == ["create"]
    send = plans[0].send
    assert send["sku"] == "S1" and send["regular_price"] == "10.00" and send["sale_price"] == ""
    assert send["categories"] == [{"id": 200}]
    assert {"key": "_wsync_key", "value": "S1"} in send["meta_data"]
    assert "images" not in send  # images have their own phase


def test_unchanged_item_sends_nothing_and_price_change_sends_only_price():
    desired = product_payload(shirt(), "feed", Resolver())
    rec = ItemRecord("product", "S1", sku="S1", store_id=11, pushed=desired, hash=content_hash(desired))
    same = plan_products([shirt()], {("product", "S1"): rec}, {}, "feed", Resolver(), ImportOptions(), 2)
    assert same[0].action == "unchanged" and same[0].send == {}
    changed = plan_products([shirt("12.00")], {("product", "S1"): rec}, {}, "feed", Resolver(), ImportOptions(), 2)
    assert changed[0].action == "update" and changed[0].send == {"regular_price": "12.00"}


def test_adopted_product_is_updated_not_created():
    plans = plan_products([shirt()], {}, {"S1": {"id": 99, "sku": "S1", "type": "simple"}}, "feed", Resolver(),
                          ImportOptions(), 1)
    assert plans[0].action == "update" and plans[0].store_id == 99 and plans[0].adopted


def test_adopted_product_read_whole_sends_only_what_differs_and_not_the_feed_marker():
    """The store's product (as `pushed_from_store` shapes it) from another feed's import, with a
    plugin's meta beside wsync's: equal but for the marker and the plugin's key, nothing is sent;
    a price the store lacks is sent alone."""
    store = product_payload(shirt(), "old-feed", Resolver())
    store["meta_data"] = [*store["meta_data"], {"key": "plugin_rating", "value": "5"}]
    adopted = {"S1": {"id": 99, "sku": "S1", "type": "simple"}}

    def plan(product):
        return plan_products([product], {}, adopted, "new-feed", Resolver(), ImportOptions(), 1,
                             store_states={99: {"id": 99}}, store_pushed=lambda _obj: store)[0]

    same = plan(shirt())
    assert same.action == "unchanged" and same.adopted and same.store_id == 99 and same.send == {}
    assert same.store_state == {"id": 99}
    changed = plan(shirt("12.00"))
    assert changed.action == "update" and changed.send == {"regular_price": "12.00"}
    # A meta value wsync owns that the store holds otherwise is sent, with this feed's marker.
    store["meta_data"] = [m if m["key"] != "_wsync_key" else {**m, "value": "S1-old"} for m in store["meta_data"]]
    rekeyed = plan(shirt())
    assert rekeyed.action == "update" and list(rekeyed.send) == ["meta_data"]
    assert {"key": "_wsync_feed", "value": "new-feed"} in rekeyed.send["meta_data"]


def test_meta_compares_by_key_as_the_store_merges_it():
    from wsync.sync.payload import same_value

    held = [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]
    assert same_value("meta_data", [{"key": "b", "value": "2"}], held)
    assert not same_value("meta_data", [{"key": "b", "value": "3"}], held)
    assert not same_value("meta_data", [{"key": "c", "value": "1"}], held)
    assert not same_value("attributes", held[:1], held)  # other lists still compare whole


def test_sku_held_by_a_variation_is_not_adopted_as_product():
    plans = plan_products([shirt()], {}, {"S1": {"id": 99, "sku": "S1", "type": "variation"}}, "feed", Resolver(),
                          ImportOptions(), 1)
    assert plans[0].action == "create"


def test_modes_skip_what_they_exclude():
    opts = ImportOptions(create_new=False)
    assert plan_products([shirt()], {}, {}, "feed", Resolver(), opts, 1)[0].action == "skip"
    desired = product_payload(shirt(), "feed", Resolver())
    rec = ItemRecord("product", "S1", sku="S1", store_id=11, pushed=desired, hash="old")
    only = plan_products([shirt("9.00")], {("product", "S1"): rec}, {}, "feed", Resolver(),
                         ImportOptions(only=["price"]), 1)
    assert only[0].send == {"regular_price": "9.00"}


def test_variable_parent_gets_every_variation_attribute_marked():
    p = Product(key="T", sku="T", name="Tee", type="variable", attributes=[Attribute("Size", ["S"], variation=True)],
                variations=[Variation("T-S", "T-S", {"Size": "S"}),
                            Variation("T-M", "T-M", {"Size": "M", "Color": "Red"})])
    complete_variation_attributes(p)
    attrs = {a.name: a for a in p.attributes}
    assert attrs["Size"].options == ["S", "M"] and attrs["Color"].variation and attrs["Color"].options == ["Red"]
    payload = product_payload(p, "feed", Resolver())
    assert "regular_price" not in payload  # variable parents carry no price


def test_variations_match_store_by_sku_and_stale_ones_are_removed():
    p = Product(key="T", sku="T", name="Tee", type="variable",
                variations=[Variation("T-S", "T-S", {"Size": "S"}, regular_price="5.00")])
    complete_variation_attributes(p)
    store = [{"id": 5, "sku": "T-S", "attributes": []}, {"id": 6, "sku": "T-XL", "attributes": []}]
    plans = plan_variations(p, 40, {}, store, Resolver(), ImportOptions(), 1)
    actions = {(pl.sku, pl.action, pl.store_id) for pl in plans}
    assert ("T-S", "update", 5) in actions and ("T-XL", "remove", 6) in actions
    kept = plan_variations(p, 40, {}, store, Resolver(), ImportOptions(stale_variations="keep"), 1)
    assert all(pl.action != "remove" for pl in kept)


def test_missing_products_respect_the_mode():
    rec = ItemRecord("product", "GONE", sku="GONE", store_id=3)
    present = {shirt().key}
    assert plan_missing(present, [rec], ImportOptions()) == []
    out = plan_missing(present, [rec], ImportOptions(missing="draft"))
    assert [(m.key, m.action) for m in out] == [("GONE", "remove")]


def test_image_url_normalisation_and_basename_matching():
    assert normalise_url(" HTTPS://CDN.Example/a/B.jpg#x ") == "https://cdn.example/a/B.jpg"
    assert basename_key("https://cdn.example/x/Shirt-Blue.JPEG") == "shirt-blue.jpg"
    assert "shirt-blue.jpg" in rename_chain("http://store/wp-content/uploads/2026/11/shirt-blue-1-scaled.jpg")
    assert "shirt-blue.jpg" in rename_chain("shirt-blue-300x300.jpeg")


def test_basename_matching_never_confuses_numbered_siblings():
    store = [{"id": 1, "src": "http://s/u/shoe-2-1.jpg"}, {"id": 2, "src": "http://s/u/shoe-1-scaled.jpg"},
             {"id": 3, "src": "http://s/u/other.png"}]
    got = match_by_basename(["https://cdn/shoe-1.jpg", "https://cdn/shoe-2.JPG", "https://cdn/missing.jpg"], store)
    assert {u: i["id"] for u, i in got.items()} == {"https://cdn/shoe-1.jpg": 2, "https://cdn/shoe-2.JPG": 1}


def test_a_pushed_state_read_back_from_the_store_in_its_own_order_is_unchanged():
    from wsync.sync.payload import diff

    desired = {"categories": [{"id": 30}, {"id": 29}], "tags": [{"name": "b"}, {"name": "a"}],
               "attributes": [{"id": 1, "position": 0, "visible": True, "variation": True,
                               "options": ["Gold", "Black"]},
                              {"name": "Brand", "position": 1, "visible": True, "variation": False, "options": ["X"]}]}
    from_store = {"categories": [{"id": 29}, {"id": 30}], "tags": [{"name": "a"}, {"name": "b"}],
                  "attributes": [{"id": 1, "position": 0, "visible": True, "variation": True,
                                  "options": ["Black", "Gold"]},
                                 {"name": "Brand", "position": 1, "visible": True, "variation": False,
                                  "options": ["X"]}]}
    assert diff(desired, from_store) == {}
    # A local attribute's options keep their order; a different set is a change.
    local = {**from_store, "attributes": [dict(from_store["attributes"][0]),
                                          dict(from_store["attributes"][1], options=["Y"])]}
    assert list(diff(desired, local)) == ["attributes"]
    assert list(diff(desired, {**from_store, "categories": [{"id": 29}]})) == ["categories"]


def test_normalise_url_fast_path_agrees_with_parsing_every_spelling():
    # URLs already in normal form are returned without parsing: every other spelling must still be parsed
    from urllib.parse import urlsplit, urlunsplit

    def parsed(url):
        parts = urlsplit(url.strip())
        return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))

    schemes, hosts = ("http", "HTTPS", "s3+x"), ("img.example", "IMG.example", "a:8080", "u:P@h", "[::1]", "é.x")
    paths = ("", "/", "/a b", "/A/B.JPG", "/p?", "/p?q=1", "/p?q=1#f", "/p#", "/p?q?r", "/\tx", "/ü.jpg", "?q")
    for scheme in schemes:
        for host in hosts:
            for path in paths:
                for url in (f"{scheme}://{host}{path}", f" {scheme}://{host}{path}", f"{scheme}://{host}{path}\n"):
                    assert normalise_url(url) == parsed(url), url


def test_adopted_variation_read_whole_sends_only_what_differs():
    """A variation found on the store, read whole: compared with the store's state as a payload
    (wsync.sync.rebuild.pushed_from_store), not sent whole."""
    from wsync.sync.payload import variation_payload
    from wsync.sync.rebuild import pushed_from_store

    parent = Product(key="T", sku="T", name="Tee", type="variable",
                     attributes=[Attribute("Color", ["Red", "Blue"], variation=True, taxonomy=True)],
                     variations=[Variation(key="T-R", sku="T-R", regular_price="9.00", attributes={"Color": "Red"}),
                                 Variation(key="T-B", sku="T-B", regular_price="9.00", attributes={"Color": "Blue"})])
    on_store = []
    for n, v in enumerate(parent.variations):
        payload = variation_payload(v, parent, Resolver())
        on_store.append({**payload, "id": 50 + n, "name": "Tee", "date_modified": "2026-01-01T00:00:00",
                         "attributes": [{"id": 7, "name": "Color", "option": v.attributes["Color"]}]})
    on_store[1]["regular_price"] = "8.00"  # the store has another price for the blue one

    def as_pushed(obj):
        return pushed_from_store(obj, "variation")

    plans = plan_variations(parent, 10, {}, on_store, Resolver(), ImportOptions(), 1, store_pushed=as_pushed)
    assert [(p.key, p.action, p.send, p.store_id, p.adopted) for p in plans] == [
        ("T-R", "unchanged", {}, 50, True), ("T-B", "update", {"regular_price": "9.00"}, 51, True)]
    assert plans[1].store_state is on_store[1]  # the before-image's source
    forced = plan_variations(parent, 10, {}, on_store, Resolver(), ImportOptions(force=True), 1,
                             store_pushed=as_pushed)
    assert [p.action for p in forced] == ["update", "update"] and forced[0].send["sku"] == "T-R"
    whole = plan_variations(parent, 10, {}, on_store, Resolver(), ImportOptions(), 1)  # not read whole
    assert [p.action for p in whole] == ["update", "update"]
