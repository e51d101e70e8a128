"""WooCommerce's own product CSV (its exporter's file), read as WooCommerce's importer reads it.

Every column the importer maps is read, under its name in any language the export may have been
written in (`woocommerce_columns`), with the importer's value rules
(includes/import/class-wc-product-csv-importer.php, WooCommerce 8.2.2):

* Type is a list: "simple", "variable", "variation", "grouped" or "external", with "virtual"
  and "downloadable" as flags beside it ("simple, downloadable, virtual").
* Published: 1 publish, 0 private, -1 draft ("true"/"false" for 1/-1); a variation is never a
  draft (-1 publishes it, as the importer does).
* Booleans are 1/0 (also yes/no, true/false); "In stock?" is 1/0 or "backorder"; "Backorders
  allowed?" 1/0 or "notify", blank meaning no. A blank "Stock" means stock is not managed
  ("parent" on a variation: its parent manages it).
* Lists are comma separated with "\\," for a comma inside an item; categories are "A > B" paths;
  "Tags (space separated)" splits at spaces; descriptions carry line breaks as "\\n".
* Numbers are written with the store's decimal separator ("12,50" from a French store) and no
  thousands separator, so one "," or "." is always the decimal point.
* A value the exporter guarded against spreadsheet formulas ("'=..." for "=...") is unguarded.
* Parents, grouped children, upsells and cross-sells are SKUs or "id:N" (the exporting store's ID).
* Rows without a SKU are keyed by their ID ("id:N"); a variation without a SKU by its parent and
  attribute values. A variation's blank attribute value means "any" value of it.

A column no field takes is reported once as a warning, never dropped in silence.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from wsync.catalogue import Details, Download, Links, RecordError, truncate
from wsync.feeds.presets.woocommerce_columns import ColumnMap, resolve
from wsync.mapping.convert import Converter
from wsync.mapping.rows import Row, RowAttribute, RowKind
from wsync.mapping.values import text_of

TYPES: tuple[RowKind, ...] = ("simple", "variable", "variation", "grouped", "external")
FLAGS = ("virtual", "downloadable")
VISIBILITIES = ("visible", "catalog", "search", "hidden")
TAX_STATUSES = ("taxable", "shipping", "none")
_STATUS = {1: "publish", 0: "private", -1: "draft"}
_INDEXED = re.compile(r"^(attributes|downloads):(name|value|visible|taxonomy|default|id|url)(.+)$")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?")
# The exporter prefixes a value that a spreadsheet would run as a formula with "'" (escape_data).
_GUARDED = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def split_escaped(text: str | None, separator: str = ",") -> list[str]:
    """WooCommerce's list cells: items split at the separator, "\\," keeps a comma in an item."""
    if not text:
        return []
    if separator == " ":
        return [p for p in text.split() if p]
    parts = re.split(r"(?<!\\)" + re.escape(separator), text)
    return [p.replace("\\" + separator, separator).strip() for p in parts if p.strip()]


def unguard(text: str) -> str:
    return text[1:] if text[:2] in _GUARDED else text


def wc_bool(text: str) -> bool:
    """wc_string_to_bool: 1, yes, true and on are true; anything else is false."""
    return text.strip().lower() in ("1", "yes", "true", "on")


def description(text: str) -> str:
    """The exporter writes a line break as the two characters \\n (and a literal "\\n" as "\\\\n")."""
    return "\\n".join(part.replace("\\n", "\n") for part in text.split("\\\\n"))


class WooCommerceCsvMapper:
    """One file's mapper: the header is resolved at its first record."""

    def __init__(self) -> None:
        self.columns: ColumnMap | None = None
        self.warnings: list[str] = []

    def __call__(self, record: dict[str, Any], where: str, decimal: str | None) -> tuple[Row | None,
                                                                                         list[RecordError]]:
        if "__width_error__" in record:
            return None, [RecordError(where, "row " + record["__width_error__"])]
        if self.columns is None:
            self.columns = resolve(list(record))
            self._note_header(where)
        return _RecordReader(record, self.columns, where, decimal).row()

    def _note_header(self, where: str) -> None:
        assert self.columns is not None
        place = where.rsplit(" line ", 1)[0]
        if self.columns.locale != "en":
            self.warnings.append(f"{place} line 1: column names read as WooCommerce writes them in "
                                 f"{self.columns.locale}")
        units = sorted({header.rsplit("(", 1)[-1].rstrip(")").strip() for header, target in self.columns.fields.items()
                        if target in ("weight", "length", "width", "height") and "(" in header})
        if units:
            # WooCommerce's importer reads only the columns in the store's own units and drops the
            # others without a word; wsync takes the numbers as written, and says in which units.
            self.warnings.append(f"{place} line 1: weights and dimensions are taken as written, in "
                                 f"{', '.join(units)}; check that the store uses the same units")
        if self.columns.ignored:
            shown = ", ".join(repr(c) for c in self.columns.ignored[:20])
            more = f" and {len(self.columns.ignored) - 20} more" if len(self.columns.ignored) > 20 else ""
            self.warnings.append(f"{place} line 1: {len(self.columns.ignored)} column(s) are not WooCommerce "
                                 f"product columns and are not imported: {shown}{more}")


class _RecordReader:
    def __init__(self, record: dict[str, Any], columns: ColumnMap, where: str, decimal: str | None):
        self.record, self.columns, self.where, self.decimal = record, columns, where, decimal
        self.sku = self.text("sku")
        self.conv = Converter(where, decimal, self.sku)

    # -- cells ------------------------------------------------------------------------------
    def raw(self, target: str) -> str | None:
        """The cell as written; None when the file has no such column or the row stops short of it."""
        column = self.columns.by_field.get(target)
        value = self.record.get(column) if column is not None else None
        return None if value is None else unguard(str(value))

    def present(self, target: str) -> bool:
        return self.raw(target) is not None

    def text(self, target: str) -> str | None:
        return text_of(self.raw(target))

    def column(self, target: str) -> str:
        return self.columns.by_field.get(target, target)

    def bool(self, target: str) -> bool | None:
        value = self.text(target)
        return None if value is None else wc_bool(value)

    def number(self, target: str) -> str | None:
        """A price or measure: one "," or "." is the decimal point (the exporter writes no
        thousands separator); anything else is read by the usual rules."""
        value = self.text(target)
        if value is None:
            return None
        if _PLAIN_NUMBER.match(value):
            try:
                number = Decimal(value.replace(",", "."))
            except InvalidOperation:
                number = None
            if number is not None and number >= 0:
                value = format(number, "f")
        if target in ("regular_price", "sale_price"):
            return self.conv.price(self.column(target), value)
        return self.conv.measure(self.column(target), value)

    def integer(self, target: str) -> int | None:
        value = self.text(target)
        return None if value is None else self.conv.integer(self.column(target), value)

    def choice(self, target: str, allowed: tuple[str, ...]) -> str | None:
        value = self.text(target)
        if value is None:
            return None
        if value.lower() not in allowed:
            self.conv.soft.append(RecordError(self.where, f"not one of {', '.join(allowed)}; left as the store has it",
                                              field=self.column(target), value=truncate(value), sku=self.sku))
            return None
        return value.lower()

    def date(self, target: str) -> str | None:
        """A sale date: a Unix timestamp (UTC) or "YYYY-MM-DD[ HH:MM[:SS]]" in the store's time zone."""
        value = self.text(target)
        if value is None:
            return None
        if re.fullmatch(r"\d{9,11}", value):
            return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        m = _DATE.match(value)
        if m:
            try:
                datetime.strptime(m.group(1), "%Y-%m-%d")
                clock = m.group(2) or "00:00:00"
                return f"{m.group(1)}T{clock if clock.count(':') == 2 else clock + ':00'}"
            except ValueError:
                pass
        self.conv.soft.append(RecordError(self.where, "not a date (YYYY-MM-DD or a Unix timestamp); the sale has "
                                          "no date", field=self.column(target), value=truncate(value), sku=self.sku))
        return None

    # -- the row ----------------------------------------------------------------------------
    def row(self) -> tuple[Row | None, list[RecordError]]:
        for column, value in self.record.items():
            self.conv.check_size(column, value)
        if self.conv.fatal:
            return self.conv.finish(None)
        words = [w.lower() for w in split_escaped(self.text("type"))] or ["simple"]
        kinds = [w for w in words if w not in FLAGS]
        kind = kinds[0] if kinds else "simple"
        if kind not in TYPES:
            return None, [RecordError(self.where, f"unknown product type (WooCommerce's are {', '.join(TYPES)})",
                                      field=self.column("type"), value=truncate(self.text("type")), sku=self.sku)]
        wc_id = self.text("id")
        parent = self.text("parent_id")
        if kind == "variation" and not parent:
            return None, [RecordError(self.where, "variation has no Parent (SKU or id:N)",
                                      field=self.column("parent_id"), sku=self.sku)]
        key = self.sku or (f"id:{wc_id}" if wc_id and kind != "variation" else None)
        # sku "" (not None): the item has no SKU and gets none, the key does not stand in for it.
        row = Row(key=key or "", where=self.where, kind=kind, sku=self.sku or "", source=self.record)
        if wc_id:
            row.aliases.append(f"id:{wc_id}")
        row.parent = parent if kind == "variation" else None
        row.blank_means_any = kind == "variation"
        self._values(row, kind, words)
        if not key:
            if kind != "variation":
                return None, self.conv.fatal + self.conv.soft + [RecordError(
                    self.where, "record has no SKU and no ID to key it by", field=self.column("sku"))]
            # WooCommerce tells a variation without a SKU apart by its parent and attributes.
            values = ", ".join(f"{a.name}={a.values[0] if a.values and a.values[0] else 'any'}"
                               for a in row.attributes)
            row.key = f"{parent}[{values}]"
        return self.conv.finish(row)

    def _values(self, row: Row, kind: str, words: list[str]) -> None:
        row.name = (self.raw("name") or "").strip() or None
        row.status = self._status(kind)
        for target, attr in (("description", "description"), ("short_description", "short_description")):
            value = self.raw(target)
            if value is not None and value.strip():
                setattr(row, attr, description(value))
        row.tax_class = self.text("tax_class")
        row.regular_price = self.number("regular_price")
        row.sale_price = self.number("sale_price")
        self._stock(row, kind)
        row.weight = self.number("weight")
        dims = [self.number(t) or "" for t in ("length", "width", "height")]
        row.dimensions = self.conv.dimensions(*dims) if any(dims) else None
        row.categories = [[p.strip() for p in path.split(">") if p.strip()]
                          for path in split_escaped(self.text("category_ids"))]
        row.tags = split_escaped(self.text("tag_ids")) or split_escaped(self.text("tag_ids_spaces"), " ")
        row.images = self._images()
        row.attributes = self._attributes(kind)
        # A blank meta cell is an empty value, as WooCommerce's importer saves it; a row that
        # stops before the column says nothing of it.
        row.meta = {target[5:]: unguard(str(value)).strip() for target, header in self.columns.by_field.items()
                    if target.startswith("meta:") and (value := self.record.get(header)) is not None}
        row.details = self._details(words)
        row.links = Links(children=split_escaped(self.text("grouped_products")),
                          upsells=split_escaped(self.text("upsell_ids")),
                          cross_sells=split_escaped(self.text("cross_sell_ids")))

    def _status(self, kind: str) -> str | None:
        value = self.text("published")
        if value is None:
            return None
        if value.lower() in ("true", "false"):
            number = 1 if value.lower() == "true" else -1
        else:
            try:
                number = int(float(value))
            except ValueError:
                number = -2
        status = _STATUS.get(number, "draft")
        return "publish" if kind == "variation" and status == "draft" else status

    def _stock(self, row: Row, kind: str) -> None:
        stock = self.raw("stock_quantity")
        if stock is not None:
            if not stock.strip() or (kind == "variation" and stock.strip().lower() == "parent"):
                row.manage_stock = False
            else:
                row.stock_quantity = self.conv.integer(self.column("stock_quantity"), stock.strip())
                row.manage_stock = True
        status = self.text("stock_status")
        if status is not None:
            low = status.lower()
            row.stock_status = ("onbackorder" if low == "backorder" else "instock" if low == "1" else
                                "outofstock" if low == "0" else self.conv.stock_status(self.column("stock_status"),
                                                                                       status))

    def _images(self) -> list[str]:
        urls = []
        for item in split_escaped(self.text("images")):
            if "://" not in item:
                self.conv.soft.append(RecordError(self.where, "an image named by file name (WooCommerce looks it up "
                                                  "in its media library); only URLs are imported",
                                                  field=self.column("images"), value=truncate(item), sku=self.sku))
                continue
            urls.append(item)
        return self.conv.images(self.column("images"), urls)

    def _indexed(self, group: str) -> dict[str, dict[str, str | None]]:
        """Attribute N / Download N columns, by N in the file's order."""
        out: dict[str, dict[str, str | None]] = {}
        for target, header in self.columns.by_field.items():
            m = _INDEXED.match(target)
            if m and m.group(1) == group:
                value = self.record.get(header)
                out.setdefault(m.group(3), {})[m.group(2)] = None if value is None else unguard(str(value))
        return out

    def _attributes(self, kind: str) -> list[RowAttribute]:
        out = []
        for cells in self._indexed("attributes").values():
            name = text_of(cells.get("name"))
            if not name:
                continue
            raw = (cells.get("value") or "").strip()
            values = [raw.replace("\\,", ",")] if kind == "variation" else split_escaped(raw)
            visible = text_of(cells.get("visible"))
            out.append(RowAttribute(name, values, visible=wc_bool(visible) if visible else True,
                                    taxonomy=wc_bool(cells.get("taxonomy") or ""),
                                    variation=None if kind in ("variable", "variation") else False,
                                    default=text_of(cells.get("default"))))
        return out

    def _details(self, words: list[str]) -> Details:
        details = Details(
            featured=self.bool("featured"),
            catalog_visibility=self.choice("catalog_visibility", VISIBILITIES),
            date_on_sale_from=self.date("date_on_sale_from"),
            date_on_sale_to=self.date("date_on_sale_to"),
            tax_status=self._tax_status(),
            backorders=self._backorders(),
            low_stock_amount=self.integer("low_stock_amount"),
            sold_individually=self.bool("sold_individually"),
            reviews_allowed=self.bool("reviews_allowed"),
            purchase_note=self.text("purchase_note"),
            shipping_class=self.text("shipping_class_id"),
            menu_order=self.integer("menu_order"),
            external_url=self.text("product_url"),
            button_text=self.text("button_text"),
            gtin=self.text("global_unique_id"),
        )
        if self.present("type"):
            details.virtual = "virtual" in words
            details.downloadable = "downloadable" in words
        downloads = []
        for cells in self._indexed("downloads").values():
            url = text_of(cells.get("url"))
            if url:
                downloads.append(Download(name=text_of(cells.get("name")) or url.rsplit("/", 1)[-1].split("?")[0],
                                          file=url, id=text_of(cells.get("id"))))
        if downloads:
            details.downloads = downloads
        if details.downloadable:
            details.download_limit = self.integer("download_limit")
            details.download_expiry = self.integer("download_expiry")
        return details

    def _tax_status(self) -> str | None:
        value = self.text("tax_status")
        if value is not None and value.lower() in ("true", "false"):
            return "taxable" if value.lower() == "true" else "none"
        return self.choice("tax_status", TAX_STATUSES)

    def _backorders(self) -> str | None:
        if not self.present("backorders"):
            return None
        value = (self.text("backorders") or "").lower()
        if value == "notify":
            return "notify"
        return "yes" if wc_bool(value) else "no"
