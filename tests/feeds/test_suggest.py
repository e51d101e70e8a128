"""`wsync feed suggest` on supplier files of three shapes: the mapping it proposes without
editing maps each to the right products and variations; synonyms, value shapes, the group,
the locale; parents that read well; joins and partial feeds as the loader reads them."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wsync.cli import app
from wsync.feeds import FeedSpec, load_catalogue
from wsync.feeds.suggest import render_toml, suggest_feed
from wsync.mapping import synonyms
from wsync.mapping.suggest import gtin_ok, suggest

SUPPLIERS = Path(__file__).resolve().parents[1] / "data" / "suppliers"


def load_suggested(tmp_path: Path, source: str, join: str | None = None):
    for name in ("family-rows.csv", "lieferant-de.csv", "shop-products.csv", "shop-combinations.csv"):
        shutil.copy(SUPPLIERS / name, tmp_path / name)
    result = suggest_feed(str(tmp_path / source), join=str(tmp_path / join) if join else None, base_dir=tmp_path)
    doc = tomllib.loads(render_toml(result))
    spec = FeedSpec.from_config(result.name, doc["feeds"][result.name], tmp_path)
    return result, doc["feeds"][result.name], load_catalogue(spec)


def test_one_row_per_sku_with_a_family_column(tmp_path):
    _result, table, loaded = load_suggested(tmp_path, "family-rows.csv")
    m = table["mapping"]
    assert (m["sku"], m["name"], m["regular_price"], m["cost"], m["stock_quantity"], m["images"], m["group"]) == (
        "Item No", "Product", "RRP", "Wholesale", "Qty", "Image", "Family")
    assert m["gtin"] == "EAN" and m["attributes"] == {"Color": "Colour", "Size": "Size", "Material": "Material"}
    assert table["decimal"] == "."
    assert loaded.errors == [] and loaded.counts["products"] == 5 and loaded.counts["variations"] == 13
    products = {p.key: p for p in loaded.products}
    tee = products["TEE-100"]
    # Named by what its members' names share, a short slug as SKU; Material is equal on all: the parent's.
    assert (tee.name, tee.sku, tee.type) == ("Organic Tee", "tee-100", "variable")
    assert {a.name: a.variation for a in tee.attributes} == {"Material": False, "Color": True, "Size": True}
    cap = products["CAP-300"]
    assert {a.name: (a.options, a.variation) for a in cap.attributes}["Size"] == (["One size"], False)
    assert [v.attributes for v in cap.variations] == [{"Color": "Navy"}, {"Color": "Sand"}]
    # A family that repeats the row's own SKU is a simple product.
    assert products["BAG-400"].type == "simple" and products["BAG-400"].regular_price == "12.00"
    assert tee.variations[0].details.gtin == "4006381333931"


def test_a_semicolon_file_with_german_headers(tmp_path):
    result, table, loaded = load_suggested(tmp_path, "lieferant-de.csv")
    m = table["mapping"]
    assert table["delimiter"] == ";" and table["decimal"] == ","
    assert (m["sku"], m["name"], m["regular_price"], m["cost"], m["stock_quantity"], m["images"], m["group"]) == (
        "Art.-Nr.", "Bezeichnung", "VK-Preis", "EK netto", "Lagerbestand", "Bild-URL", "Modell")
    assert m["parent_name"] == "Modellname" and m["image_separator"] == "|" and m["category_separator"] == "/"
    assert result.suggestion.language == "de"
    assert result.suggestion.unmapped == [{"column": "Lieferzeit", "sample": "2-3 Tage"}]
    assert loaded.errors == [] and loaded.counts["products"] == 5 and loaded.counts["variations"] == 10
    products = {p.key: p for p in loaded.products}
    assert products["JK-7001"].name == "Wanderjacke Alpin" and products["JK-7001"].sku == "jk-7001"
    assert products["HS-7100"].variations[0].regular_price == "1149.00"
    assert products["FL-7200"].categories == [["Outdoor", "Trinken"]] and len(products["JK-7001"].images) == 2


def test_repeated_values_that_group_nothing_are_not_taken_for_a_family(tmp_path):
    """A supplier's contact address on every row, an active flag, a quantity: values repeated on
    consecutive rows that are not a product family. A price in brackets names its currency."""
    path = tmp_path / "liste.csv"
    path.write_text("Artikelnummer;Bezeichnung;EK (EUR);Bestand;Aktiv;Kontakt\n"
                    "T-10;Teekanne Steingut;12,40;5;ja;verkauf@grosshandel.example\n"
                    "T-11;Teebecher Steingut;3,10;5;ja;verkauf@grosshandel.example\n"
                    "T-12;Untersetzer Kork;0,90;5;nein;verkauf@grosshandel.example\n"
                    "T-13;Teesieb Edelstahl;2,75;12;ja;\n", encoding="utf-8")
    _result, table, loaded = load_suggested(tmp_path, str(path))
    m = table["mapping"]
    assert "group" not in m and "parent" not in m
    assert (m["sku"], m["name"], m["cost"], m["stock_quantity"]) == ("Artikelnummer", "Bezeichnung", "EK (EUR)",
                                                                      "Bestand")
    assert loaded.errors == [] and loaded.counts["products"] == 4 and loaded.counts["variations"] == 0


def test_two_files_products_and_combinations(tmp_path):
    _result, table, loaded = load_suggested(tmp_path, "shop-products.csv", join="shop-combinations.csv")
    m, j = table["mapping"], table["join"]
    assert (m["sku"], m["name"], m["regular_price"], m["stock_quantity"], m["images"]) == (
        "reference", "name", "price", "quantity", "image_urls")
    assert (j["source"], j["on"], j["as"]) == ("shop-combinations.csv", "id_product", "variations")
    assert (j["mapping"]["sku"], j["mapping"]["stock_quantity"]) == ("reference", "quantity")
    assert loaded.errors == [] and loaded.counts["products"] == 4 and loaded.counts["variations"] == 8
    oxford = next(p for p in loaded.products if p.key == "SH-OXF")
    assert oxford.type == "variable" and [v.key for v in oxford.variations][:2] == ["SH-OXF-WHT-M", "SH-OXF-WHT-L"]
    # A combination without a price takes its product's.
    assert oxford.variations[0].regular_price == "59.00" and oxford.variations[0].stock_quantity == 4


def test_rows_of_either_side_that_match_nothing_are_record_errors(tmp_path):
    (tmp_path / "p.csv").write_text("id,sku,name,price\n1,A,Shirt,10\n2,B,Belt,5\n")
    (tmp_path / "c.csv").write_text("id,sku,size,stock\n1,A-S,S,1\n1,A-M,M,2\n9,Z-S,S,1\n")
    table = {"source": "p.csv", "join": {"source": "c.csv", "on": "id", "mapping": {
        "sku": "sku", "stock_quantity": "stock", "attributes": {"Size": "size"}}}}
    loaded = load_catalogue(FeedSpec.from_config("two", table, tmp_path))
    assert loaded.counts["products"] == 2 and loaded.counts["variations"] == 2
    assert [(e.where, e.value) for e in loaded.errors] == [("c.csv line 4", "9")]
    (tmp_path / "s.csv").write_text("Artikel;Bestand\nA;4\nQ;1\n")
    fields = {"source": "p.csv", "join": {"source": "s.csv", "on": ["sku", "Artikel"], "as": "fields"},
              "mapping": {"sku": "sku", "name": "name", "regular_price": "price", "stock_quantity": "Bestand"}}
    loaded = load_catalogue(FeedSpec.from_config("cat", fields, tmp_path))
    assert {p.key: p.stock_quantity for p in loaded.products} == {"A": 4, "B": None}
    assert sorted((e.where, e.value) for e in loaded.errors) == [("p.csv line 3", "B"), ("s.csv line 3", "Q")]


def test_a_stock_file_is_a_partial_feed_declared_or_detected(tmp_path):
    (tmp_path / "stock.csv").write_text("Référence;Quantité;Prix promo;Promo début\nA;4;8,50;01.03.2025\nA;5;;\n"
                                        "B;;;\n")
    detected = load_catalogue(FeedSpec.adhoc(str(tmp_path / "stock.csv")))
    assert detected.products == [] and sorted(detected.partial_fields) == ["date_on_sale_from", "sale_price",
                                                                           "stock_quantity"]
    assert [u.to_dict()["fields"] for u in detected.updates] == [
        {"sale_price": "8.50", "manage_stock": True, "stock_quantity": 4, "date_on_sale_from": "2025-03-01T00:00:00"},
        {"sale_price": "", "date_on_sale_from": ""}]
    assert [e.reason for e in detected.errors] == ["duplicate key: an earlier record already has it (kept)"]
    declared = FeedSpec.from_config("stock", {"source": "stock.csv", "partial": True, "mapping": {
        "sku": "Référence", "stock_quantity": "Quantité"}}, tmp_path)
    assert next(u.fields for u in load_catalogue(declared).updates) == {"manage_stock": True, "stock_quantity": 4}
    from wsync.errors import ConfigError

    with pytest.raises(ConfigError, match="partial"):
        FeedSpec.from_config("bad", {"source": "stock.csv", "partial": True,
                                     "mapping": {"sku": "Référence", "name": "Quantité"}}, tmp_path)


@pytest.mark.parametrize("header, expected", [
    (["Référence", "Désignation", "Prix d'achat", "Prix de vente", "Quantité"],
     {"sku": "Référence", "name": "Désignation", "cost": "Prix d'achat", "regular_price": "Prix de vente",
      "stock_quantity": "Quantité"}),
    (["Referencia", "Nombre", "Precio de coste", "PVP", "Existencias"],
     {"sku": "Referencia", "name": "Nombre", "cost": "Precio de coste", "regular_price": "PVP",
      "stock_quantity": "Existencias"}),
    (["Codice articolo", "Descrizione", "Prezzo d'acquisto", "Prezzo al pubblico", "Giacenza"],
     {"sku": "Codice articolo", "description": "Descrizione", "cost": "Prezzo d'acquisto",
      "regular_price": "Prezzo al pubblico", "stock_quantity": "Giacenza"}),
    (["Artikelnummer", "Productnaam", "Inkoopprijs", "Verkoopprijs", "Voorraad"],
     {"sku": "Artikelnummer", "name": "Productnaam", "cost": "Inkoopprijs", "regular_price": "Verkoopprijs",
      "stock_quantity": "Voorraad"}),
    (["Kod produktu", "Nazwa", "Cena zakupu", "Cena detaliczna", "Stan magazynowy"],
     {"sku": "Kod produktu", "name": "Nazwa", "cost": "Cena zakupu", "regular_price": "Cena detaliczna",
      "stock_quantity": "Stan magazynowy"}),
])
def test_headers_in_each_language(header, expected):
    rows = [dict(zip(header, [f"A-{i}", f"Produkt Nummer {i}", "4,10", "9,90", str(i)], strict=True)) for i in range(6)]
    s = suggest(header, rows)
    assert {c.key: c.value for c in s.choices if c.key in expected} == expected
    assert s.choice("decimal").value == ","


def test_value_shapes_without_header_names():
    header = ["c1", "c2", "c3", "c4", "c5", "c6"]
    rows = []
    for i, code in enumerate(["4006381333931", "4006381333948", "4006381333955", "4006381333962"]):
        rows.append(dict(zip(header, [f"X{i}", code, f"Garden chair model {i}", f"{3 + i}.50", f"{9 + i}.90",
                                      f"https://cdn.example/p/{i}.jpg"], strict=True)))
    s = suggest(header, rows)
    got = {c.key: c.value for c in s.choices}
    assert (got["sku"], got["gtin"], got["name"], got["cost"], got["regular_price"], got["images"]) == (
        "c1", "c2", "c3", "c4", "c5", "c6")
    assert "below" in " ".join(s.choice("cost").evidence)
    assert gtin_ok("4006381333931") and not gtin_ok("4006381333932") and gtin_ok("036000291452")


def test_the_group_is_found_from_rows_alone():
    header = ["id", "m", "title", "colour", "price"]
    rows = [dict(zip(header, [f"{m}-{c}", m, f"Mug {m} {c}", c, "4.00"], strict=True))
            for m in ("K1", "K2") for c in ("red", "blue", "green")]
    s = suggest(header, rows)
    group = s.choice("group")
    assert group.value == "m" and any("runs" in e for e in group.evidence)
    assert s.choice("attributes.Color").value == "colour"


def test_synonyms_fold_case_and_accents():
    assert synonyms.normalise("Größe") == synonyms.normalise("GROESSE".replace("OE", "Ö")) == "grosse"
    assert synonyms.attribute_for("Größe") == "Size" and synonyms.attribute_for("Kolor") == "Color"
    assert ("cost", "de", "exact") in synonyms.field_for("EK-Preis")


def test_parent_sku_and_name_templates(tmp_path):
    (tmp_path / "f.csv").write_text("sku,model,brand,title,size\nA-S,Trail Tee,Acme,Trail Tee S,S\n"
                                    "A-M,Trail Tee,Acme,Trail Tee M,M\n")
    plain = load_catalogue(FeedSpec.from_config("f", {"source": "f.csv", "mapping": {
        "sku": "sku", "group": "model", "name": "title", "attributes": {"Size": "size"}}}, tmp_path))
    assert [(p.key, p.sku, p.name) for p in plain.products] == [("Trail Tee", "trail-tee", "Trail Tee")]
    templated = load_catalogue(FeedSpec.from_config("f", {"source": "f.csv", "mapping": {
        "sku": "sku", "group": "model", "name": "title", "attributes": {"Size": "size"},
        "parent_sku": "{brand}-{group_slug}", "parent_name": "{brand} {group}"}}, tmp_path))
    assert [(p.sku, p.name) for p in templated.products] == [("Acme-trail-tee", "Acme Trail Tee")]


def test_cli_write_then_preview_and_init_with_a_feed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(SUPPLIERS / "lieferant-de.csv", tmp_path / "lieferant-de.csv")
    runner = CliRunner()
    out = runner.invoke(app, ["feed", "suggest", "lieferant-de.csv", "--name", "alpin", "--write", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["mapping"]["sku"] == "Art.-Nr." and doc["written"].endswith("wsync.toml")
    assert (tmp_path / "wsync.toml").stat().st_mode & 0o777 == 0o600
    again = runner.invoke(app, ["feed", "suggest", "lieferant-de.csv", "--name", "alpin", "--write"])
    assert again.exit_code != 0 and "already has [feeds.alpin]" in str(again.exception or again.output)
    preview = runner.invoke(app, ["feed", "preview", "alpin", "--json"])
    assert preview.exit_code == 0, preview.output
    assert json.loads(preview.stdout)["counts"]["variations"] == 10
    init = runner.invoke(app, ["init", "--path", "sub/wsync.toml", "--feed", "lieferant-de.csv", "--json"])
    assert init.exit_code == 0, init.output
    text = (tmp_path / "sub" / "wsync.toml").read_text()
    assert "[store]" in text and "[feeds.lieferant-de.mapping]" in text and "[feeds.example]" not in text
