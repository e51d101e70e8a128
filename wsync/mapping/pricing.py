"""Reseller pricing: a price from the wholesaler's cost, a price ending, a minimum margin, sale rules.

`[feeds.NAME.pricing]` options (all optional, decimals as strings or numbers):
  base = "cost" | "regular_price"   what `multiply`/`add` apply to (default: cost when mapped)
  multiply = 1.8, add = 2.00        price = base * multiply + add
  ending = 0.99                     round up to the next price ending in .99 (23.41 -> 23.99)
  min_margin = 0.25                 never below cost * (1 + min_margin) (then re-rounded)
  sale_factor = 0.9                 sale = regular * factor (rounded like the regular price)
  drop_sale_not_below_regular = true   a sale price >= the regular price is dropped
Everything is decimal.Decimal; results are strings with two places.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from wsync.errors import Fail
from wsync.mapping.numbers import TWO_PLACES, format_price

_KEYS = {"base", "multiply", "add", "ending", "min_margin", "sale_factor", "drop_sale_not_below_regular"}


@dataclass(frozen=True)
class PricingRules:
    base: str | None = None
    multiply: Decimal | None = None
    add: Decimal | None = None
    ending: Decimal | None = None
    min_margin: Decimal | None = None
    sale_factor: Decimal | None = None
    drop_sale_not_below_regular: bool = True

    @classmethod
    def from_table(cls, table: dict[str, Any], fail: Fail) -> PricingRules:
        """Build from a config table; `fail(key, message, hint)` raises the caller's config error."""
        for key in table:
            if key not in _KEYS:
                fail(key, f"unknown pricing option {key!r}", "use one of: " + ", ".join(sorted(_KEYS)))

        def dec(key: str, low: Decimal | None = None, high: Decimal | None = None) -> Decimal | None:
            if key not in table:
                return None
            try:
                value = Decimal(str(table[key]))
            except InvalidOperation:
                fail(key, f"{table[key]!r} is not a number", 'write it as a decimal, e.g. 1.8 or "0.99"')
            if not value.is_finite() or (low is not None and value < low) or (high is not None and value >= high):
                fail(key, f"{table[key]!r} is out of range", None)
            return value

        base = table.get("base")
        if base is not None and base not in ("cost", "regular_price"):
            fail("base", f"{base!r} is not a price base", 'use "cost" or "regular_price"')
        drop = table.get("drop_sale_not_below_regular", True)
        if not isinstance(drop, bool):
            fail("drop_sale_not_below_regular", "must be true or false", None)
        return cls(base=base, multiply=dec("multiply", Decimal(0)), add=dec("add"),
                   ending=dec("ending", Decimal(0), Decimal(1)), min_margin=dec("min_margin", Decimal(0)),
                   sale_factor=dec("sale_factor", Decimal(0)), drop_sale_not_below_regular=drop)

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.multiply, self.add, self.ending, self.min_margin, self.sale_factor)) \
            or self.drop_sale_not_below_regular

    def apply(self, regular: str | None, sale: str | None, cost: str | None) -> tuple[str | None, str | None]:
        """Return the (regular, sale) prices after the rules."""
        reg = Decimal(regular) if regular else None
        sal = Decimal(sale) if sale else None
        cst = Decimal(cost) if cost else None
        base_name = self.base or ("cost" if cst is not None else "regular_price")
        base = cst if base_name == "cost" else reg
        if base is not None and (self.multiply is not None or self.add is not None):
            reg = base * (self.multiply if self.multiply is not None else Decimal(1)) + (self.add or Decimal(0))
        if reg is not None:
            reg = self._round(reg)
            if self.min_margin is not None and cst is not None:
                floor = cst * (1 + self.min_margin)
                if reg < floor:
                    reg = self._round(floor)
        if self.sale_factor is not None and reg is not None:
            sal = self._round(reg * self.sale_factor)
        elif sal is not None and self.ending is not None:
            sal = self._round(sal)
        if sal is not None and reg is not None and self.drop_sale_not_below_regular and sal >= reg:
            sal = None
        return (format_price(reg) if reg is not None else None, format_price(sal) if sal is not None else None)

    def _round(self, value: Decimal) -> Decimal:
        value = value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
        if self.ending is None:
            return value
        # The smallest price >= value whose cents equal the ending.
        whole = value.to_integral_value(rounding=ROUND_CEILING) - 1
        candidate = whole + self.ending
        if candidate < value:
            candidate += 1
        return candidate
