"""Rows -> catalogue Products: grouping variations under parents, and the feed-wide checks.

Checks made here (each a RecordError naming the record's place, never a silent merge):
  * a second row with a key already seen (duplicate SKU / key): the first one is kept;
  * a variation whose parent never appears (orphan);
  * a variation without a value for one of its parent's variation attributes, or repeating
    an attribute combination another variation of the same parent already has;
  * a variable parent without any variation is demoted to a simple product and reported as a
    warning (WooCommerce cannot sell a variable product without variations; a simple product
    with the parent's own price and stock can).
The variable parent's attributes list every option its variations use, marked variation=True,
so WooCommerce never turns them into "Any" variations.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from wsync.catalogue import Attribute, Image, Product, RecordError, Variation, truncate
from wsync.mapping.rows import Row, RowAttribute


@dataclass
class Group:
    """A parent row and the variation rows that name it, ready to become one product."""

    row: Row
    variations: list[Row] = field(default_factory=list)
    synthesised: bool = False


def keyless(row: Row) -> RecordError:
    """The error for a row that has no key: it cannot be matched, planned or pushed."""
    return RecordError(row.where, "record has no key (no SKU and no id to derive one from)", field="sku")


def is_variation_row(row: Row) -> bool:
    """A row that joins a parent: marked a variation, or naming a parent without a kind of its own."""
    return row.kind == "variation" or bool(row.parent and row.kind == "auto")


class Assembler:
    """Collects rows in feed order (streaming) and builds products at `finish()`."""

    def __init__(self) -> None:
        self._order: list[str] = []
        self._rows: dict[str, Group] = {}
        self._alias: dict[str, str] = {}
        self._variation_keys: set[str] = set()
        self._pending: list[Row] = []
        self._excluded: set[str] = set()
        # SKUs given to parents made from groups -> the group that has it (two groups whose
        # slugs meet keep apart by a hash of the group).
        self._parent_skus: dict[str, str] = {}
        self.errors: list[RecordError] = []
        self.warnings: list[RecordError] = []

    # -- intake ---------------------------------------------------------------------------
    def add(self, row: Row) -> None:
        if not row.key:
            self.errors.append(keyless(row))
            return
        children = row.children
        row.children = []
        if is_variation_row(row):
            self._add_variation(row)
        else:
            if not self._claim(row):
                return
            self._order.append(row.key)
            self._rows[row.key] = Group(row)
            for alias in row.aliases:
                self._alias.setdefault(alias, row.key)
        for child in children:
            child.parent = row.key
            child.grouped = False
            child.kind = "variation"
            self._add_variation(child)

    def exclude(self, row: Row) -> None:
        """A row a filter dropped: its variations are dropped with it, not reported as orphans."""
        self._excluded.add(row.key)
        self._excluded.update(row.aliases)

    def _claim(self, row: Row) -> bool:
        if row.key in self._rows or row.key in self._variation_keys:
            self.errors.append(RecordError(row.where, "duplicate key: an earlier record already has it (kept)",
                                           field="sku", value=truncate(row.key), sku=row.sku))
            return False
        return True

    def _add_variation(self, row: Row) -> None:
        if not self._claim(row):
            return
        self._variation_keys.add(row.key)
        if row.grouped and row.parent:
            group = row.parent
            if group not in self._rows:
                self._order.append(group)
                self._rows[group] = Group(self.synthesise(row, group), synthesised=True)
            row.parent = group
        self._pending.append(row)

    def synthesise(self, first: Row, group: str) -> Row:
        """The variable parent a group's first member makes (its SKU kept apart from another group's)."""
        parent = _synthesise_parent(first, group)
        if first.parent_sku is not None:
            sku = first.parent_sku
            holder = self.parent_sku_holder(sku)
            if holder is not None and holder != group:
                sku = f"{sku}-{hashlib.sha1(group.encode()).hexdigest()[:6]}"
            self.hold_parent_sku(sku, group)
            parent.sku = sku
            parent.name = first.parent_name  # None: named from the group once its members are in
            parent.parent_sku = sku
        return parent

    def parent_sku_holder(self, sku: str) -> str | None:
        """The group whose made parent has this SKU (the spill keeps these on disk)."""
        return self._parent_skus.get(sku)

    def hold_parent_sku(self, sku: str, group: str) -> None:
        self._parent_skus[sku] = group

    # -- build ----------------------------------------------------------------------------
    def finish(self) -> list[Product]:
        for row in self._pending:
            parent_key = row.parent if row.parent in self._rows else self._alias.get(row.parent or "")
            if parent_key is None or parent_key not in self._rows:
                if row.parent in self._excluded:
                    continue
                self.errors.append(RecordError(row.where, "orphan variation: its parent never appears in the feed",
                                               field="parent", value=truncate(row.parent or ""), sku=row.sku))
                continue
            self._rows[parent_key].variations.append(row)
        self._pending = []
        products = []
        for key in self._order:
            entry = self._rows.pop(key)
            product = self.build(entry)
            if product is not None:
                products.append(product)
        return products

    def build(self, entry: Group) -> Product | None:
        """One group as a product (None, with an error, when it cannot be one)."""
        row = entry.row
        if entry.synthesised and row.parent_sku is not None:
            _readable_parent(row, entry.variations)
        elif any(a.variation is None and not v.blank_means_any for v in entry.variations for a in v.attributes):
            _infer_variation_attributes(row, entry.variations)
        if not row.name:
            self.errors.append(RecordError(row.where, "product has no name", field="name", sku=row.sku))
            return None
        product = _product_from_row(row)
        if row.kind in ("grouped", "external"):
            product.type = row.kind
            for v in entry.variations:
                self.errors.append(RecordError(v.where, f"variation of a {row.kind} product (only variable products "
                                               "have variations)", field="parent", value=truncate(v.parent or ""),
                                               sku=v.sku))
            return product
        if not entry.variations:
            if row.kind == "variable":
                self.warnings.append(RecordError(row.where, "variable product has no variations; imported as a "
                                                 "simple product", field="type", sku=row.sku))
            product.type = "simple"
            return product
        product.type = "variable"
        self._attach_variations(product, row, entry.variations)
        if not product.variations:
            self.errors.append(RecordError(row.where, "none of this product's variations is valid", sku=row.sku))
            return None
        return product

    def _attach_variations(self, product: Product, row: Row, variations: list[Row]) -> None:
        declared = {a.name: a for a in row.attributes}
        used_names: list[str] = []
        for v in variations:
            for a in v.attributes:
                if a.variation is not False and a.name not in used_names:
                    used_names.append(a.name)
        variation_names = [n for n in used_names
                           if not (n in declared and declared[n].variation is False)]
        seen: set[tuple[tuple[str, str | None], ...]] = set()
        options: dict[str, list[str]] = {n: [] for n in variation_names}
        for v in variations:
            values = {a.name: a.values[0] for a in v.attributes
                      if a.variation is not False and a.values and a.values[0] != ""}
            missing = [n for n in variation_names if n not in values]
            if missing and not v.blank_means_any:
                self.errors.append(RecordError(v.where, f"variation has no value for attribute {missing[0]!r}",
                                               field=f"attributes.{missing[0]}", sku=v.sku))
                continue
            # A value left out is "any" (blank_means_any): it takes part in the combination as such.
            combo = tuple((n, values[n].casefold() if n in values else None) for n in variation_names)
            if combo in seen:
                shown = ", ".join(f"{n}={values.get(n, 'any')}" for n in variation_names)
                self.errors.append(RecordError(v.where, "another variation of this product has the same attributes",
                                               field="attributes", value=truncate(shown), sku=v.sku))
                continue
            seen.add(combo)
            for n in variation_names:
                if n in values and values[n] not in options[n]:
                    options[n].append(values[n])
            product.variations.append(_variation_from_row(v, {n: values[n] for n in variation_names if n in values}))
        attributes: list[Attribute] = []
        for attr in product.attributes:
            if attr.name in options:
                merged = list(attr.options) + [o for o in options[attr.name] if o not in attr.options]
                attributes.append(Attribute(attr.name, merged, variation=True, visible=attr.visible,
                                            taxonomy=attr.taxonomy))
            else:
                attributes.append(attr)
        present = {attr.name for attr in attributes}
        for n in variation_names:
            if n not in present and options[n]:
                # Only the variations name it: they also say whether it is a global (pa_*) attribute.
                taxonomy = any(a.taxonomy for v in variations for a in v.attributes if a.name == n)
                attributes.append(Attribute(n, options[n], variation=True, taxonomy=taxonomy))
        product.attributes = attributes
        product.default_attributes = {a.name: a.default for a in row.attributes
                                      if a.default and a.name in options
                                      and a.default in _options_of(attributes, a.name)}


def _infer_variation_attributes(parent: Row, variations: list[Row]) -> None:
    """Attributes the feed did not declare as variation attributes (variation=None, a mapping
    without variation_attributes) that are equal on every variation move to the parent; the
    others define the variations."""
    names: list[str] = []
    for v in variations:
        for a in v.attributes:
            if a.variation is None and a.name not in names:
                names.append(a.name)
    for name in names:
        values = [next((a.values[0] for a in v.attributes if a.name == name and a.values), None) for v in variations]
        if len(variations) > 1 and values[0] is not None and all(x == values[0] for x in values):
            if not any(a.name == name for a in parent.attributes):
                parent.attributes.append(RowAttribute(name, [values[0]], variation=False))
            for v in variations:
                v.attributes = [a for a in v.attributes if a.name != name]
        else:
            for v in variations:
                for a in v.attributes:
                    if a.name == name:
                        a.variation = True


def _readable_parent(parent: Row, variations: list[Row]) -> None:
    """A parent made from a group (mapping with `group`): its attributes as
    _infer_variation_attributes leaves them; without a parent_name it is named by the group
    value when that reads as a name ("Trail Tee"), else by the words its members' names share
    ("Trail Tee Oat S", "Trail Tee Oat M" -> "Trail Tee Oat")."""
    _infer_variation_attributes(parent, variations)
    if parent.name:
        return
    group = parent.key
    if re.search(r"\s", group.strip()) and re.search(r"[^\W\d_]", group):
        parent.name = group.strip()
        return
    words = [v.name.split() for v in variations if v.name]
    shared: list[str] = []
    if words:
        for column in zip(*words, strict=False):  # names differ in length: the words each of them has
            if all(w.casefold() == column[0].casefold() for w in column):
                shared.append(column[0])
            else:
                break
        if len(words) == 1 or len(shared) == len(min(words, key=len)):
            # One member, or names that differ only after the shortest: drop its option words.
            options = {a.values[0].casefold() for v in variations for a in v.attributes if a.values}
            while shared and shared[-1].casefold().strip("(),") in options:
                shared.pop()
    text = " ".join(shared).strip(" -–,/(")
    parent.name = text or group


def _options_of(attributes: list[Attribute], name: str) -> list[str]:
    return next((a.options for a in attributes if a.name == name), [])


def _synthesise_parent(first: Row, group: str) -> Row:
    """A variable parent for rows grouped by a column (Google item_group_id, supplier model code)."""
    return Row(key=group, where=first.where, kind="variable", sku=group, name=first.name,
               description=first.description, short_description=first.short_description,
               categories=list(first.categories), tags=list(first.tags), brand=first.brand,
               images=list(first.images), tax_class=first.tax_class, status=first.status,
               attributes=[a for a in first.attributes if a.variation is False], meta={})


def _images(urls: list[str]) -> list[Image]:
    out: list[Image] = []
    seen: set[str] = set()
    for url in urls:
        if url not in seen:
            seen.add(url)
            out.append(Image(src=url))
    return out


def _product_from_row(row: Row) -> Product:
    return Product(
        key=row.key, sku=row.sku, name=row.name or "", status=row.status, description=row.description,
        short_description=row.short_description, regular_price=row.regular_price, sale_price=row.sale_price,
        cost=row.cost, stock_quantity=row.stock_quantity, stock_status=row.stock_status,
        manage_stock=row.manage_stock, tax_class=row.tax_class, weight=row.weight, dimensions=row.dimensions,
        categories=row.categories, tags=row.tags, brand=row.brand,
        attributes=[Attribute(a.name, list(a.values), variation=False, visible=a.visible, taxonomy=a.taxonomy)
                    for a in row.attributes if a.values],
        images=_images(row.images), meta=row.meta, details=row.details, links=row.links, aliases=list(row.aliases),
        where=row.where)


def _variation_from_row(row: Row, attributes: dict[str, str]) -> Variation:
    return Variation(
        key=row.key, sku=row.sku, attributes=attributes, regular_price=row.regular_price,
        sale_price=row.sale_price, stock_quantity=row.stock_quantity,
        stock_status=row.stock_status,
        manage_stock=row.manage_stock, weight=row.weight, dimensions=row.dimensions,
        image=Image(src=row.images[0]) if row.images else None, status=row.status,
        description=row.description, meta=row.meta, details=row.details, where=row.where)
