"""The woocommerce-csv preset reads what WooCommerce's exporter writes, as its importer does."""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path

import pytest

from wsync.errors import FeedRefused
from wsync.feeds import FeedSpec, load_catalogue
from wsync.feeds.presets.woocommerce_columns import COLUMNS, PATTERNS, normalise, resolve

DATA = Path(__file__).resolve().parents[1] / "data" / "woocommerce"
TABLE = json.loads(resources.files("wsync.feeds.presets").joinpath("data/woocommerce_columns.json")
                   .read_text(encoding="utf-8"))


def load(path: Path, **kw):
    return load_catalogue(FeedSpec.adhoc(str(path), preset="woocommerce-csv"), **kw)


def by_key(result):
    return {p.key: p for p in result.products}


def test_a_french_export_with_short_rows_reads_whole():
    result = load(DATA / "export-fr-short-rows.csv")
    assert result.errors == [], [str(e) for e in result.errors]
    products = by_key(result)
    assert {k: p.type for k, p in products.items()} == {
        "FR-MUG": "simple", "FR-BOL": "simple", "FR-EXT": "external", "id:104": "simple", "FR-SET": "grouped",
        "FR-TEE": "variable"}
    mug = products["FR-MUG"]
    # Comma decimals, a two-line description, sale dates, links by SKU and by the export's id.
    assert (mug.regular_price, mug.sale_price, mug.weight) == ("12.50", "8.50", "0.35")
    assert mug.description == "Une tasse.\nDeux lignes."
    assert (mug.details.date_on_sale_from, mug.details.date_on_sale_to) == (
        "2026-01-01T00:00:00", "2026-01-31T00:00:00")
    assert mug.categories == [["Cuisine", "Tasses"]] and mug.tags == ["émail", "cadeau"]
    assert (mug.details.shipping_class, mug.details.menu_order, mug.details.backorders) == ("Fragile", 3, "no")
    assert (mug.links.upsells, mug.links.cross_sells) == (["FR-BOL"], ["id:104"])
    assert (mug.stock_quantity, mug.manage_stock) == (12, True)
    bowl = products["FR-BOL"]
    # Published -1 is a draft; a blank Stock is stock not managed; "notify" backorders.
    assert (bowl.status, bowl.manage_stock, bowl.stock_status, bowl.details.backorders) == (
        "draft", False, "outofstock", "notify")
    ext = products["FR-EXT"]
    assert ext.details.external_url == "https://artiste.example/affiche"
    assert ext.details.button_text == "Acheter chez l’artiste"
    guide = products["id:104"]  # no SKU: keyed by the export's ID, and given no SKU of ours
    assert guide.sku == "" and guide.details.virtual and guide.details.downloadable
    assert [(d.name, d.file) for d in guide.details.downloads] == [("Guide", "https://artiste.example/guide.pdf")]
    assert (guide.details.download_limit, guide.details.download_expiry) == (5, 30)
    assert products["FR-SET"].links.children == ["FR-MUG", "FR-BOL", "FR-TEE"]
    tee = products["FR-TEE"]
    assert tee.meta == {"_couleur_fournisseur": "indigo"} and tee.default_attributes == {"Couleur": "Bleu"}
    # Variations without SKU, keyed by parent and attributes; a blank Taille is "any" size.
    assert {v.key: v.attributes for v in tee.variations} == {
        "FR-TEE[Couleur=Bleu, Taille=any]": {"Couleur": "Bleu"},
        "id:106[Couleur=Rouge, Taille=M]": {"Couleur": "Rouge", "Taille": "M"}}
    red = next(v for v in tee.variations if v.attributes["Couleur"] == "Rouge")
    assert red.status == "publish"  # a variation is never a draft (-1 publishes it, as the importer does)
    size = next(a for a in tee.attributes if a.name == "Taille")
    assert size.variation and set(size.options) == {"S", "M"}
    assert result.counts["variations"] == 2
    assert any("read as WooCommerce writes them in fr_FR" in w for w in result.warnings)


def test_a_row_longer_than_the_header_is_still_an_error(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("SKU,Name,Regular price\nA,Alpha,1\nB,Beta,2,surplus\nC\n", encoding="utf-8")
    result = load(path, max_error_share=1.0)
    assert [p.key for p in result.products] == ["A"]
    reasons = [str(e) for e in result.errors]
    assert any("line 3" in r and "has 4 fields, the header has 3" in r for r in reasons)
    assert any("line 4" in r and "no name" in r for r in reasons)  # a short row is read: its name is absent


def test_a_short_row_leaves_absent_fields_alone_but_a_blank_stock_unmanages(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("SKU,Name,Stock\nA,Alpha\nB,Beta,\n", encoding="utf-8")
    products = by_key(load(path))
    assert products["A"].manage_stock is None  # the row stops before Stock: not said
    assert products["B"].manage_stock is False  # Stock is there and blank: stock not managed


def _header(locale: str) -> list[str]:
    strings = TABLE["locales"][locale]["strings"] if locale != "en" else {m: [m] for m in [*COLUMNS, *PATTERNS]}

    def name(msgid: str, number: str = "1") -> str:
        return strings[msgid][0].replace("%d", number).replace("%s", number)

    return [name("ID"), name("Type"), name("SKU"), name("Name"), name("Published"), name("Regular price"),
            name("Sale price"), name("In stock?"), name("Stock"), name("Categories"), name("Parent"),
            name("Grouped products"), name("Weight (%s)", "kg"), name("Attribute %d name"),
            name("Attribute %d value(s)"), name("Attribute %d visible"), name("Attribute %d global"),
            name("Meta: %s", "_origin")]


@pytest.mark.parametrize("locale", ["en", *TABLE["locales"]])
def test_every_listed_language_previews_with_no_refused_record(tmp_path, locale):
    header = _header(locale)
    rows = [["1", "variable", "P", "Shirt", "1", "", "", "1", "", "A > B", "", "", "0.2",
             "Size", "S, M", "1", "0", "x"],
            ["2", "variation", "", "Shirt S", "1", "10,00", "", "1", "3", "", "P", "", "",
             "Size", "S", "", "0", ""],
            ["3", "variation", "P-M", "Shirt M", "1", "11.50", "9", "0", "", "", "id:1", "", "",
             "Size", "M", "", "0", ""],
            ["4", "grouped", "G", "Set", "1", "", "", "", "", "", "", "P, id:1", "",
             "", "", "", "", ""]]
    path = tmp_path / f"{locale}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    result = load(path)
    assert result.errors == [], [str(e) for e in result.errors]
    products = by_key(result)
    shirt = products["P"]
    assert shirt.type == "variable" and shirt.categories == [["A", "B"]] and shirt.weight == "0.2"
    assert shirt.meta == {"_origin": "x"}
    assert sorted((v.key, v.regular_price) for v in shirt.variations) == [("P-M", "11.50"), ("P[Size=S]", "10.00")]
    assert products["G"].type == "grouped" and products["G"].links.children == ["P", "id:1"]
    assert resolve(header).locale == locale or (locale != "en" and resolve(header).locale in TABLE["locales"])


def test_header_matching_ignores_case_spaces_and_apostrophe_style():
    nb = "\u00a0"
    assert normalise(f"  Mis en avant{nb}?  ") == "Mis en avant?" == normalise("Mis en avant ?")
    columns = resolve(["ugs", "NOM", "Nom de l'attribut 2", "Valeur(s) de l’attribut 2", f"En stock{nb}?",
                       "Méta : Fournisseur"])
    assert columns.fields == {"ugs": "sku", "NOM": "name", "Nom de l'attribut 2": "attributes:name2",
                              "Valeur(s) de l’attribut 2": "attributes:value2", f"En stock{nb}?": "stock_status",
                              "Méta : Fournisseur": "meta:Fournisseur"}  # a meta key keeps its case
    assert columns.locale == "fr_FR" and columns.ignored == []


def test_columns_no_field_takes_are_named_in_a_warning(tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text("SKU,Name,Supplier notes,Regular price\nA,Alpha,keep dry,3\n", encoding="utf-8")
    result = load(path)
    assert [p.key for p in result.products] == ["A"]
    assert any("'Supplier notes'" in w and "not imported" in w for w in result.warnings)


def test_importer_value_forms(tmp_path):
    path = tmp_path / "forms.csv"
    path.write_text(
        "SKU,Name,Type,Published,Is featured?,Tax status,Backorders allowed?,Date sale price starts,Description,"
        "Visibility in catalog,Tags (space separated)\n"
        "A,'=Alpha,\"simple, virtual\",true,yes,false,1,1767225600,\"a \\\\n literal\",hidden,red blue\n"
        "B,Beta,simple,0,0,shipping,,not a date,,nowhere,\n", encoding="utf-8")
    result = load(path)
    products = by_key(result)
    a, b = products["A"], products["B"]
    assert a.name == "=Alpha"  # the exporter's formula guard is taken off
    assert (a.status, a.details.featured, a.details.tax_status, a.details.backorders) == (
        "publish", True, "none", "yes")
    assert a.details.virtual is True and a.details.downloadable is False
    assert a.details.date_on_sale_from == "2026-01-01T00:00:00Z"  # a Unix timestamp is UTC
    assert a.description == "a \\n literal" and a.details.catalog_visibility == "hidden"
    assert a.tags == ["red", "blue"]
    assert (b.status, b.details.featured, b.details.tax_status, b.details.backorders) == ("private", False, "shipping",
                                                                                          "no")
    soft = {e.field: e.reason for e in result.errors}
    assert "Date sale price starts" in soft and "Visibility in catalog" in soft  # reported, the product kept


def test_ambiguous_records_are_refused_with_line_and_reason(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("ID,Type,SKU,Name,Parent,Attribute 1 name,Attribute 1 value(s)\n"
                    "1,variable,P,Shirt,,Size,\"S, M\"\n"
                    "2,variation,,Shirt S,,Size,S\n"
                    "3,variation,,Shirt M,Q,Size,M\n"
                    "4,simple,P,Other,,,\n"
                    "5,widget,W,Widget,,,\n", encoding="utf-8")
    result = load(path, max_error_share=1.0)
    reasons = {e.where.rsplit(" ", 1)[-1]: e.reason for e in result.errors}
    assert "no Parent" in reasons["3"]
    assert "orphan" in reasons["4"]
    assert "duplicate key" in reasons["5"]
    assert "unknown product type" in reasons["6"]


def test_an_empty_export_is_still_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("ID,Type,SKU,Name\n", encoding="utf-8")
    with pytest.raises(FeedRefused):
        load(path)


@pytest.mark.parametrize("name, locale", [("exporter-fr_FR.csv", "fr_FR"), ("exporter-de_DE.csv", "de_DE")])
def test_files_written_by_woocommerces_exporter_in_french_and_german(name, locale):
    """Exported by WooCommerce 8.2.2's own batch exporter (10 rows a batch) from a store in that
    language: 50 of the 55 rows are shorter than the header, the French one has comma decimals."""
    path = DATA / name
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert sum(1 for r in rows[1:] if len(r) < len(rows[0])) == 50
    result = load(path)
    assert result.errors == [], [str(e) for e in result.errors]
    assert result.counts["products"] == 43 and result.counts["variations"] == 12
    assert sorted(p.type for p in result.products).count("simple") == 36
    assert {p.type for p in result.products} == {"simple", "variable", "grouped", "external"}
    products = by_key(result)
    assert products["FR-PLAIN-005"].regular_price == "1234.50"  # "1234,5" in French: no thousands separator
    assert "id:17" in products  # the one product exported without a SKU
    assert products["META-3"].meta == {"fournisseur": "Dupont & Fils"}
    assert any(f"in {locale}" in w for w in result.warnings)
