"""The configurable mapper: `[feeds.NAME.mapping]` says which source column / path feeds which field.

Without a mapping table, columns with common names (sku, name/title, price, stock, image...)
are recognised automatically, so `wsync feed preview supplier.csv` works on typical files.
"""

from __future__ import annotations

import hashlib
import re
import string
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from wsync.catalogue import RecordError
from wsync.errors import Fail
from wsync.mapping import synonyms
from wsync.mapping.convert import MAX_FIELD_CHARS, Converter
from wsync.mapping.rows import Row, RowAttribute
from wsync.mapping.values import get_path, split_list, text_of, texts_of

SCALAR_FIELDS = ("key", "sku", "parent", "group", "name", "description", "short_description", "regular_price",
                 "sale_price", "cost", "stock_quantity", "stock_status", "manage_stock", "weight", "length",
                 "width", "height", "brand", "tax_class", "status", "gtin", "date_on_sale_from", "date_on_sale_to",
                 "parent_name", "parent_sku")
# Values that may be a template ("{Modell} {Farbe}") instead of a column name.
TEMPLATE_FIELDS = ("parent_name", "parent_sku")
LIST_FIELDS = ("categories", "tags", "images")
_SCALAR_SET = frozenset(SCALAR_FIELDS)
OPTION_KEYS = ("key_template", "category_separator", "list_separator", "image_separator", "attributes",
               "variation_attributes", "global_attributes", "meta")

# The column names recognised when a feed has no mapping table: the synonyms table, for the
# fields taken by name alone (wsync/mapping/synonyms.py holds every language's names).
AUTO_NAMES: dict[str, tuple[str, ...]] = {f: tuple(n for n, _ in synonyms.NAMES[f]) for f in synonyms.AUTOMATIC}
# What a partial feed may carry besides its key (docs/feeds.md, "Partial feeds").
PARTIAL_FIELDS = ("regular_price", "sale_price", "cost", "stock_quantity", "stock_status", "manage_stock",
                  "date_on_sale_from", "date_on_sale_to")
_KEY_FIELDS = ("key", "sku")
# Names a parent_name / parent_sku template may use besides the row's columns.
_TEMPLATE_NAMES = ("group", "group_slug")


_URL_SPLIT = re.compile(r",\s*(?=[A-Za-z][A-Za-z0-9+.-]*:|//)")


def _norm(name: str) -> str:
    return synonyms.normalise(name)


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, limit: int = 40) -> str:
    """A short, stable SKU from free text ("Trail Tee (Oat)" -> "trail-tee-oat"); a long one is cut
    and ends in a hash of the whole, so two long names that start alike stay apart."""
    if text.isascii():  # most values: nothing to fold, nothing to decompose
        folded = text.lower()
    else:
        folded = unicodedata.normalize("NFKD", text.translate(synonyms._FOLD).casefold())
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    out = _NOT_SLUG.sub("-", folded).strip("-")
    if not out:
        return hashlib.sha1(text.encode()).hexdigest()[:10]
    if len(out) > limit:
        out = out[: limit - 9].rstrip("-") + "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return out


@dataclass
class FieldMapper:
    columns: dict[str, str | list[str]] = field(default_factory=dict)
    key_template: str | None = None
    category_separator: str = " > "
    list_separator: str = ","
    image_separator: str = ","
    attributes: dict[str, str] = field(default_factory=dict)
    variation_attributes: list[str] = field(default_factory=list)
    global_attributes: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    decimal: str | None = None
    variants_path: str | None = None
    auto: bool = False

    @classmethod
    def from_table(cls, table: dict[str, Any], fail: Fail) -> FieldMapper:
        mapper = cls()
        for key, value in table.items():
            if key in SCALAR_FIELDS:
                if not isinstance(value, str) or not value:
                    fail(key, "must name a source column or path", f'e.g. {key} = "Column name"')
                mapper.columns[key] = value
            elif key in LIST_FIELDS:
                if isinstance(value, str) and value:
                    mapper.columns[key] = value
                elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                    mapper.columns[key] = list(value)
                else:
                    fail(key, "must name a column or a list of columns", f'e.g. {key} = ["col1", "col2"]')
            elif key in ("category_separator", "list_separator", "image_separator", "key_template"):
                if not isinstance(value, str) or not value:
                    fail(key, "must be a non-empty string", None)
                setattr(mapper, key, value)
            elif key in ("attributes", "meta"):
                if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                    fail(key, "must be a table of name = \"source column\"", f'e.g. [feeds.NAME.mapping.{key}]')
                setattr(mapper, key, {str(k): v for k, v in value.items()})
            elif key in ("variation_attributes", "global_attributes"):
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    fail(key, "must be a list of attribute names", f'e.g. {key} = ["Color", "Size"]')
                setattr(mapper, key, list(value))
            else:
                fail(key, "unknown mapping key", "known keys: " + ", ".join(SCALAR_FIELDS + LIST_FIELDS + OPTION_KEYS))
        for name in mapper.variation_attributes + mapper.global_attributes:
            if name not in mapper.attributes:
                fail("variation_attributes", f"attribute {name!r} is not in [mapping.attributes]",
                     f'add {name} = "source column" to the attributes table')
        if mapper.key_template:
            try:
                list(string.Formatter().parse(mapper.key_template))
            except ValueError as exc:
                fail("key_template", f"invalid template: {exc}", 'e.g. "{handle}-{option1}"')
        for key in TEMPLATE_FIELDS:
            value = mapper.columns.get(key)
            if isinstance(value, str) and "{" in value:
                try:
                    list(string.Formatter().parse(value))
                except ValueError as exc:
                    fail(key, f"invalid template: {exc}", 'e.g. "{group}" or "{Modell} {Marke}"')
        for key in TEMPLATE_FIELDS:
            if key in mapper.columns and "group" not in mapper.columns:
                fail(key, "names a parent's field, and the mapping has no group", 'add group = "Model column"')
        return mapper

    @classmethod
    def automatic(cls, header: list[str]) -> FieldMapper:
        """Guess a mapping from a header of common column names, in any of the synonyms table's
        languages. A column feeds one field at most; the first field whose names match takes it."""
        mapper = cls(auto=True)
        by_norm: dict[str, str] = {}
        for column in header:
            by_norm.setdefault(_norm(column), column)
        taken: set[str] = set()
        for fieldname, names in AUTO_NAMES.items():
            for candidate in names:
                found = by_norm.get(candidate)
                if found is not None and found not in taken:
                    mapper.columns[fieldname] = found
                    taken.add(found)
                    break
        for column in by_norm.values():
            attribute = synonyms.attribute_for(column)
            if attribute is not None and column not in taken and attribute not in mapper.attributes:
                mapper.attributes[attribute] = column
        if "parent" in mapper.columns:
            mapper.variation_attributes = list(mapper.attributes)
        return mapper

    def partial_fields(self) -> list[str]:
        """The fields of a feed that carries a key and some of PARTIAL_FIELDS only (no name):
        what a partial feed updates. [] when the mapping names anything else."""
        carried = [f for f in self.columns if f not in _KEY_FIELDS]
        if not carried or any(f not in PARTIAL_FIELDS for f in carried) or self.attributes or self.meta:
            return []
        return carried

    def source_columns(self) -> list[str]:
        cached: list[str] | None = self.__dict__.get("_source_columns")
        if cached is not None:
            return cached
        cols: list[str] = []
        for fieldname, value in self.columns.items():
            if fieldname in TEMPLATE_FIELDS and isinstance(value, str) and "{" in value:
                cols.extend(name for _, name, _, _ in string.Formatter().parse(value)
                            if name and name not in _TEMPLATE_NAMES)
                continue
            cols.extend(value if isinstance(value, list) else [value])
        cols.extend(self.attributes.values())
        cols.extend(self.meta.values())
        if self.key_template:
            cols.extend(name for _, name, _, _ in string.Formatter().parse(self.key_template) if name)
        self.__dict__["_source_columns"] = cols
        return cols

    # -- mapping one record ---------------------------------------------------------------
    def map(self, record: dict[str, Any], where: str) -> tuple[Row | None, list[RecordError]]:
        row, errors = self._map_one(record, where, inherit=None)
        if row is None or not self.variants_path:
            return row, errors
        variants = get_path(record, self.variants_path)
        if isinstance(variants, dict):
            variants = [variants]
        for i, variant in enumerate(variants or []):
            if not isinstance(variant, dict):
                errors.append(RecordError(f"{where}/{self.variants_path.replace('.', '/')}/{i}",
                                          "variant is not an object", field="variants"))
                continue
            child, child_errors = self._map_one(variant, f"{where}/{self.variants_path.replace('.', '/')}/{i}",
                                                inherit=record)
            errors.extend(child_errors)
            if child is not None:
                child.kind = "variation"
                row.children.append(child)
        if row.children:
            row.kind = "variable"
        return row, errors

    def _text(self, record: dict[str, Any], fieldname: str) -> str | None:
        column = self.columns.get(fieldname)
        if column is None:
            return None
        if column.__class__ is str:
            value = record.get(column)
            if value.__class__ is str:  # the CSV case: a plain string cell
                value = value.strip()
                return value or None
        if isinstance(column, list):
            return text_of(next((get_path(record, c) for c in column if text_of(get_path(record, c))), None))
        return text_of(get_path(record, column))

    def _key(self, record: dict[str, Any], inherit: dict[str, Any] | None, conv: Converter) -> str | None:
        if self.key_template:
            names = {**(inherit or {}), **record}
            try:
                parts = {}
                for _, name, _, _ in string.Formatter().parse(self.key_template):
                    if name:
                        parts[name] = text_of(get_path(names, name)) or ""
                key = self.key_template.format(**parts)
            except (KeyError, IndexError, ValueError) as exc:
                conv._fail("key", self.key_template, f"key template failed: {exc}")
                return None
            return re.sub(r"-{2,}", "-", key).strip("-_ ") or None
        return self._text(record, "key") or self._text(record, "sku")

    def _map_one(self, record: dict[str, Any], where: str,
                 inherit: dict[str, Any] | None) -> tuple[Row | None, list[RecordError]]:
        sku = self._text(record, "sku")
        conv = Converter(where, self.decimal, sku)
        columns = self.__dict__.get("_columns_cache")
        if columns is None:  # the mapping does not change during a load: list its columns once
            columns = self.__dict__["_columns_cache"] = tuple(dict.fromkeys(self.source_columns()))
        for column in columns:
            value = record.get(column)
            if value.__class__ is str and len(value) > MAX_FIELD_CHARS:
                conv.check_size(column, value)
        if conv.fatal:
            return conv.finish(None)
        key = self._key(record, inherit, conv)
        if not key:
            conv._fail("sku", "", "record has no key (no SKU / key value)")
            return conv.finish(None)
        # Only the mapped fields are looked up (a record has dozens of columns, a mapping a few).
        vals = {f: self._text(record, f) for f in self.columns if f in _SCALAR_SET and f not in TEMPLATE_FIELDS}
        t = vals.get
        # `source` lets filters test raw columns; the loader drops it once filters ran.
        row = Row(key=key, where=where, sku=sku or key, source=record)
        parent, group = t("parent"), t("group")
        if group is not None and group == key and not parent:
            group = None  # a group of its own: a simple product (a family column that repeats the SKU)
        if inherit is None and (parent or group):
            row.kind = "variation"
            row.parent = parent or group
            grouped_by = group if group and not parent else None
            row.grouped = grouped_by is not None
            if grouped_by is not None:
                # The parent this row's group makes: named and given a SKU that read well.
                row.parent_name = self._parent_text(record, "parent_name", grouped_by)
                row.parent_sku = self._parent_text(record, "parent_sku", grouped_by) or slug(grouped_by)
        row.name = t("name")
        row.description = t("description")
        row.short_description = t("short_description")
        row.brand = t("brand")
        row.tax_class = t("tax_class")
        row.status = t("status")
        if "regular_price" in vals:
            row.regular_price = conv.price("regular_price", vals["regular_price"])
        if "sale_price" in vals:
            row.sale_price = conv.price("sale_price", vals["sale_price"])
        if "cost" in vals:
            row.cost = conv.price("cost", vals["cost"])
        if "stock_quantity" in vals:
            row.stock_quantity = conv.integer("stock_quantity", vals["stock_quantity"])
        if "stock_status" in vals:
            row.stock_status = conv.stock_status("stock_status", vals["stock_status"])
        if "manage_stock" in vals:
            row.manage_stock = conv.flag("manage_stock", vals["manage_stock"])
        if row.manage_stock is None and row.stock_quantity is not None:
            row.manage_stock = True
        if "weight" in vals:
            row.weight = conv.measure("weight", vals["weight"])
        if "gtin" in vals:
            row.details.gtin = vals["gtin"]
        for name in ("date_on_sale_from", "date_on_sale_to"):
            if name in vals:
                setattr(row.details, name, conv.date(name, vals[name]))
        if "length" in vals or "width" in vals or "height" in vals:
            row.dimensions = conv.dimensions(t("length"), t("width"), t("height"))
        row.categories = [[p.strip() for p in path.split(self.category_separator.strip()) if p.strip()]
                          for path in self._list(record, "categories", self.list_separator)]
        row.tags = self._list(record, "tags", self.list_separator)
        row.images = conv.images("images", self._list(record, "images", self.image_separator))
        for name, column in self.attributes.items():
            value = text_of(get_path(record, column))
            if value is None:
                continue
            is_variation: bool | None = name in self.variation_attributes
            if (row.kind == "variation" or inherit is not None) and not self.variation_attributes:
                is_variation = None  # the group's members tell: equal on all of them -> the parent's
            single = is_variation is not False and (row.kind == "variation" or inherit is not None)
            values = [value] if single else split_list(value, "|") or [value]
            row.attributes.append(RowAttribute(name, values, taxonomy=name in self.global_attributes,
                                               variation=is_variation))
        for meta_key, column in self.meta.items():
            value = text_of(get_path(record, column))
            if value is not None:
                row.meta[meta_key] = value
        return conv.finish(row)

    def _parent_text(self, record: dict[str, Any], fieldname: str, group: str) -> str | None:
        """parent_name / parent_sku: a column's value, or a template over the row's columns and
        {group} (the group value) / {group_slug} (its slug)."""
        spec = self.columns.get(fieldname)
        if not isinstance(spec, str):
            return None
        if "{" not in spec:
            return text_of(get_path(record, spec))
        parts: dict[str, str] = {}
        for _, name, _, _ in string.Formatter().parse(spec):
            if not name:
                continue
            if name == "group":
                parts[name] = group
            elif name == "group_slug":
                parts[name] = slug(group)
            else:
                parts[name] = text_of(get_path(record, name)) or ""
        try:
            text = spec.format(**parts)
        except (KeyError, IndexError, ValueError):
            return None
        return re.sub(r"\s{2,}", " ", text).strip(" -_") or None

    def _list(self, record: dict[str, Any], fieldname: str, separator: str) -> list[str]:
        column = self.columns.get(fieldname)
        if column is None:
            return []
        out: list[str] = []
        for c in column if isinstance(column, list) else [column]:
            value = get_path(record, c)
            if value is None or value == "":  # most rows leave most list columns empty
                continue
            if isinstance(value, list):
                out.extend(texts_of(value))
            elif fieldname == "images" and separator == ",":
                # Split only where the next URL starts, so commas inside a URL stay (data:, query strings).
                text = text_of(value) or ""
                out.extend(p.strip() for p in _URL_SPLIT.split(text) if p.strip())
            else:
                out.extend(split_list(text_of(value), separator))
        return out
