"""Which of WooCommerce's product CSV columns a header names, in any language WooCommerce writes.

WooCommerce's exporter writes its column names in the site's language ("UGS", "Tarif régulier",
"Valeur(s) de l’attribut 1", "Mis en avant ?" with a no-break space), and its importer maps them
back by comparing names case-insensitively, with the English names always accepted as well
(WooCommerce: `wc_importer_default_english_mappings`). This module does the same from the data
table `data/woocommerce_columns.json` (WooCommerce's own names and translations, with their
source), and goes a little further where real files differ from the language pack: no-break and
repeated spaces, a space or none before "?", and the apostrophe's style do not matter.

A header resolves to importer field names, WooCommerce's own (`sku`, `regular_price`,
`attributes:value2`, `meta:_foo`...), plus the locale it was read in and the columns no
field takes, which the preset reports rather than dropping in silence.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

# WooCommerce's column names (its exporter's and importer's msgids) -> the importer's field names
# (includes/export/class-wc-product-csv-exporter.php and includes/admin/importers/mappings/).
COLUMNS: dict[str, str] = {
    "ID": "id", "Type": "type", "SKU": "sku", "Name": "name", "Published": "published",
    "Is featured?": "featured", "Visibility in catalog": "catalog_visibility",
    "Short description": "short_description", "Description": "description",
    "Date sale price starts": "date_on_sale_from", "Date sale price ends": "date_on_sale_to",
    "Tax status": "tax_status", "Tax class": "tax_class", "In stock?": "stock_status", "Stock": "stock_quantity",
    "Low stock amount": "low_stock_amount", "Backorders allowed?": "backorders",
    "Sold individually?": "sold_individually", "Allow customer reviews?": "reviews_allowed",
    "Purchase note": "purchase_note", "Sale price": "sale_price", "Regular price": "regular_price",
    "Categories": "category_ids", "Tags": "tag_ids", "Shipping class": "shipping_class_id", "Images": "images",
    "Download limit": "download_limit", "Download expiry days": "download_expiry", "Parent": "parent_id",
    "Grouped products": "grouped_products", "Upsells": "upsell_ids", "Cross-sells": "cross_sell_ids",
    "External URL": "product_url", "Button text": "button_text", "Position": "menu_order",
    # The importer's generic names (mappings/generic.php).
    "Title": "name", "Product Title": "name", "Price": "regular_price", "Parent SKU": "parent_id",
    "Quantity": "stock_quantity", "Menu order": "menu_order",
    "Tags (comma separated)": "tag_ids", "Tags (space separated)": "tag_ids_spaces",
    # WooCommerce 9.2+ exports the product's GTIN field under this name (English only in the table).
    "GTIN, UPC, EAN, or ISBN": "global_unique_id",
}
# Names with a number or a unit in them: the importer's "special columns".
PATTERNS: dict[str, str] = {
    "Weight (%s)": "weight", "Length (%s)": "length", "Width (%s)": "width", "Height (%s)": "height",
    "Attribute %d name": "attributes:name", "Attribute %d value(s)": "attributes:value",
    "Attribute %d visible": "attributes:visible", "Attribute %d global": "attributes:taxonomy",
    "Attribute %d default": "attributes:default", "Download %d ID": "downloads:id",
    "Download %d name": "downloads:name", "Download %d URL": "downloads:url", "Meta: %s": "meta:",
}
# Fields whose number or name is part of the field (the unit of a weight is not).
_KEEPS_CAPTURE = {"attributes:name", "attributes:value", "attributes:visible", "attributes:taxonomy",
                  "attributes:default", "downloads:id", "downloads:name", "downloads:url", "meta:"}

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"})


def normalise(name: str) -> str:
    """A column name as compared: compatibility forms folded (no-break spaces become spaces),
    one apostrophe, single spaces, none before ? : ; or !, trimmed. Case is kept (meta keys
    are case-sensitive); the comparisons ignore it."""
    text = unicodedata.normalize("NFKC", name.replace("\ufeff", "")).translate(_APOSTROPHES)
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r" ([?:;!])", r"\1", text)


@dataclass(frozen=True)
class _Locale:
    name: str
    exact: dict[str, str]  # casefolded normalised name -> field
    patterns: tuple[tuple[re.Pattern[str], str], ...]

    def field_for(self, header: str) -> str | None:
        key = normalise(header)
        found = self.exact.get(key.casefold())
        if found is not None:
            return found
        for pattern, target in self.patterns:
            m = pattern.fullmatch(key)
            if m:
                return target + m.group(1) if target in _KEEPS_CAPTURE else target
        return None


def _compile(locale: str, names: dict[str, list[str]]) -> _Locale:
    exact: dict[str, str] = {}
    patterns: list[tuple[re.Pattern[str], str]] = []
    for msgid, translations in names.items():
        if msgid in COLUMNS:
            for text in translations:
                exact.setdefault(normalise(text).casefold(), COLUMNS[msgid])
        elif msgid in PATTERNS:
            for text in translations:
                parts = re.split(r"(%d|%s)", normalise(text))
                regex = "".join(r"(\d+)" if p == "%d" else "(.+)" if p == "%s" else re.escape(p) for p in parts)
                patterns.append((re.compile(regex, re.IGNORECASE), PATTERNS[msgid]))
    return _Locale(locale, exact, tuple(patterns))


@lru_cache(maxsize=1)
def locales() -> tuple[_Locale, ...]:
    """English first (WooCommerce always accepts it), then every translated locale of the table."""
    table = json.loads(resources.files("wsync.feeds.presets").joinpath("data/woocommerce_columns.json")
                       .read_text(encoding="utf-8"))
    english = {msgid: [msgid] for msgid in list(COLUMNS) + list(PATTERNS)}
    out = [_compile("en", english)]
    for name, entry in table["locales"].items():
        out.append(_compile(name, entry["strings"]))
    return tuple(out)


@dataclass
class ColumnMap:
    """How one file's header reads: header text -> importer field, the locale, what is left over."""

    fields: dict[str, str] = field(default_factory=dict)
    locale: str = "en"
    ignored: list[str] = field(default_factory=list)
    # importer field -> the first header that holds it (WooCommerce's importer keeps the first too).
    by_field: dict[str, str] = field(default_factory=dict)


def resolve(header: list[str]) -> ColumnMap:
    """Read a header as the locale that recognises most of it (English on a tie); a column that
    locale does not know is tried in English, then in the others."""
    tables = locales()
    best = max(tables, key=lambda loc: sum(1 for h in header if loc.field_for(h)))
    order = [best] + [t for t in tables if t is not best]
    out = ColumnMap(locale=best.name)
    for column in header:
        if not column.strip():
            continue
        target = next((f for loc in order if (f := loc.field_for(column)) is not None), None)
        if target is None:
            out.ignored.append(column)
        elif column not in out.fields:
            out.fields[column] = target
            out.by_field.setdefault(target, column)
    return out
