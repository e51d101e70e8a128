"""Per-feed rules applied to every row after mapping: filters, renames, fixed values, defaults, pricing.

Config tables (all under `[feeds.NAME]`):
  [feeds.NAME.filters]  include = [{field="brand", in=["Acme"]}], exclude = [{field="name", regex="(?i)sample"}]
                        each condition: field + one of equals / in / regex / not_equals
  [feeds.NAME.category_map]   "Supplier > Tees" = "Clothing > T-Shirts"   (longest matching prefix wins)
  [feeds.NAME.attribute_names] "Farbe" = "Color"
  [feeds.NAME.fixed]          brand = "Acme"          (overrides the feed)
  [feeds.NAME.defaults]       status = "publish", tax_class = "", manage_stock = true  (only where empty)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from wsync.errors import Fail
from wsync.mapping.pricing import PricingRules
from wsync.mapping.rows import Row

SETTABLE = {"status", "description", "short_description", "tax_class", "brand", "manage_stock", "stock_status",
            "name", "categories", "tags"}
STOCK_STATUSES = {"instock", "outofstock", "onbackorder"}


@dataclass
class Condition:
    field: str
    op: str
    value: Any

    def matches(self, row: Row) -> bool:
        actual = _field_value(row, self.field)
        values = actual if isinstance(actual, list) else [actual]
        texts = ["" if v is None else str(v) for v in values] or [""]
        if self.op == "equals":
            return any(t == str(self.value) for t in texts)
        if self.op == "not_equals":
            return all(t != str(self.value) for t in texts)
        if self.op == "in":
            return any(t in self.value for t in texts)
        return any(self.value.search(t) for t in texts)


def _field_value(row: Row, name: str) -> Any:
    if name == "categories":
        return [" > ".join(path) for path in row.categories]
    if name.startswith("source."):
        return (row.source or {}).get(name[len("source."):])
    if name.startswith("meta."):
        return row.meta.get(name[5:])
    return getattr(row, name, None)


@dataclass
class Rules:
    include: list[Condition] = field(default_factory=list)
    exclude: list[Condition] = field(default_factory=list)
    category_map: list[tuple[list[str], list[str]]] = field(default_factory=list)
    attribute_names: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    pricing: PricingRules = field(default_factory=PricingRules)
    category_separator: str = " > "

    @classmethod
    def from_table(cls, table: dict[str, Any], fail: Fail) -> Rules:
        rules = cls()
        rules.category_separator = str(table.get("mapping", {}).get("category_separator", " > ")) \
            if isinstance(table.get("mapping"), dict) else " > "
        filters = table.get("filters", {})
        if not isinstance(filters, dict):
            fail("filters", "must be a table with include / exclude lists", None)
        for kind in filters:
            if kind not in ("include", "exclude"):
                fail(f"filters.{kind}", "unknown filter list", "use include = [...] or exclude = [...]")
            items = filters[kind]
            if not isinstance(items, list):
                fail(f"filters.{kind}", "must be a list of conditions", 'e.g. [{field="brand", equals="Acme"}]')
            for i, item in enumerate(items):
                getattr(rules, kind).append(_condition(item, f"filters.{kind}[{i}]", fail))
        for src, dst in _table(table, "category_map", fail).items():
            rules.category_map.append((_split_path(src, rules.category_separator),
                                       _split_path(str(dst), rules.category_separator)))
        rules.category_map.sort(key=lambda pair: -len(pair[0]))
        rules.attribute_names = {str(k): str(v) for k, v in _table(table, "attribute_names", fail).items()}
        for name in ("fixed", "defaults"):
            values = _table(table, name, fail)
            for key, value in values.items():
                if key not in SETTABLE:
                    fail(f"{name}.{key}", "cannot be set here", "settable: " + ", ".join(sorted(SETTABLE)))
                if key == "stock_status" and value not in STOCK_STATUSES:
                    fail(f"{name}.{key}", f"{value!r} is not a stock status", "use instock, outofstock or onbackorder")
                if key == "manage_stock" and not isinstance(value, bool):
                    fail(f"{name}.{key}", "must be true or false", None)
            setattr(rules, name, dict(values))
        pricing = _table(table, "pricing", fail)
        rules.pricing = PricingRules.from_table(pricing, lambda k, m, h: fail(f"pricing.{k}", m, h))
        return rules

    def keep(self, row: Row) -> bool:
        if self.include and not all(c.matches(row) for c in self.include):
            return False
        return not any(c.matches(row) for c in self.exclude)

    def apply(self, row: Row) -> None:
        """Renames, fixed values, defaults and pricing, in that order (pricing sees final costs)."""
        if self.category_map and row.categories:
            row.categories = [self._map_category(path) for path in row.categories]
        if self.attribute_names:
            for a in row.attributes:
                a.name = self.attribute_names.get(a.name, a.name)
        for key, value in self.fixed.items():
            _set(row, key, value, self.category_separator)
        for key, value in self.defaults.items():
            current = getattr(row, key, None)
            if current is None or current == "" or current == []:
                _set(row, key, value, self.category_separator)
        if row.kind != "variable":
            row.regular_price, row.sale_price = self.pricing.apply(row.regular_price, row.sale_price, row.cost)

    def _map_category(self, path: list[str]) -> list[str]:
        for src, dst in self.category_map:
            if path[: len(src)] == src:
                return dst + path[len(src):]
        return path


def _set(row: Row, key: str, value: Any, separator: str) -> None:
    if key == "categories":
        values = value if isinstance(value, list) else [value]
        row.categories = [_split_path(str(v), separator) for v in values]
    elif key == "tags":
        row.tags = [str(v) for v in (value if isinstance(value, list) else [value])]
    elif key == "manage_stock":
        row.manage_stock = bool(value)
    else:
        setattr(row, key, str(value))


def _split_path(text: str, separator: str) -> list[str]:
    return [part.strip() for part in text.split(separator.strip() or separator) if part.strip()]


def _table(table: dict[str, Any], name: str, fail: Fail) -> dict[str, Any]:
    value = table.get(name, {})
    if not isinstance(value, dict):
        fail(name, "must be a table", f"write it as [feeds.NAME.{name}]")
    return value


def _condition(item: Any, key: str, fail: Fail) -> Condition:
    if not isinstance(item, dict) or "field" not in item:
        fail(key, "a condition needs a field and one of equals / not_equals / in / regex",
             'e.g. {field="brand", equals="Acme"}')
    ops = [op for op in ("equals", "not_equals", "in", "regex") if op in item]
    if len(ops) != 1:
        fail(key, "a condition needs exactly one of equals / not_equals / in / regex", None)
    op = ops[0]
    value = item[op]
    if op == "in":
        if not isinstance(value, list):
            fail(key, "`in` needs a list of values", 'e.g. in = ["A", "B"]')
        value = {str(v) for v in value}
    if op == "regex":
        try:
            value = re.compile(str(value))
        except re.error as exc:
            fail(key, f"invalid regular expression: {exc}", None)
    return Condition(str(item["field"]), op, value)
