"""Turning one record's text values into typed Row fields, collecting every problem as a RecordError.

A problem with a required value (price, stock, key...) rejects the record; a refused image URL
only drops that image (the product keeps its others) but is still reported.
"""

from __future__ import annotations

from wsync.catalogue import Dimensions, RecordError, StockStatus, truncate
from wsync.mapping.images import ImageUrlError, normalise_image_url
from wsync.mapping.numbers import NumberError, parse_int, parse_measure, parse_price
from wsync.mapping.rows import Row
from wsync.mapping.values import parse_date, parse_flag, parse_stock_status

# A single value longer than this is a broken record (a runaway quote, a binary blob), not a field.
MAX_FIELD_CHARS = 1_000_000


class Converter:
    def __init__(self, where: str, decimal: str | None, sku: str | None = None):
        self.where = where
        self.decimal = decimal
        self.sku = sku
        self.fatal: list[RecordError] = []
        self.soft: list[RecordError] = []

    def _fail(self, field: str, value: object, reason: str, soft: bool = False) -> None:
        error = RecordError(self.where, reason, field=field, value=truncate(value), sku=self.sku)
        (self.soft if soft else self.fatal).append(error)

    def check_size(self, field: str, text: str | None) -> str | None:
        if text is not None and len(text) > MAX_FIELD_CHARS:
            self._fail(field, text, f"value is {len(text):,} characters long (limit {MAX_FIELD_CHARS:,})")
            return None
        return text

    def price(self, field: str, text: str | None) -> str | None:
        if text is None or self.check_size(field, text) is None:
            return None
        try:
            return parse_price(text, self.decimal)
        except NumberError as exc:
            self._fail(field, text, str(exc))
            return None

    def measure(self, field: str, text: str | None) -> str | None:
        if text is None or self.check_size(field, text) is None:
            return None
        try:
            return parse_measure(text, self.decimal)
        except NumberError as exc:
            self._fail(field, text, str(exc))
            return None

    def integer(self, field: str, text: str | None) -> int | None:
        if text is None or self.check_size(field, text) is None:
            return None
        try:
            return parse_int(text, self.decimal)
        except NumberError as exc:
            self._fail(field, text, str(exc))
            return None

    def flag(self, field: str, text: str | None) -> bool | None:
        if text is None:
            return None
        try:
            return parse_flag(text)
        except ValueError as exc:
            self._fail(field, text, str(exc))
            return None

    def stock_status(self, field: str, text: str | None) -> StockStatus | None:
        if text is None:
            return None
        try:
            return parse_stock_status(text)
        except ValueError as exc:
            self._fail(field, text, str(exc))
            return None

    def date(self, field: str, text: str | None) -> str | None:
        if text is None:
            return None
        try:
            return parse_date(text)
        except ValueError as exc:
            self._fail(field, text, str(exc))
            return None

    def images(self, field: str, urls: list[str]) -> list[str]:
        out: list[str] = []
        for url in urls:
            if self.check_size(field, url) is None:
                continue
            try:
                normal = normalise_image_url(url)
            except ImageUrlError as exc:
                self._fail(field, url, str(exc), soft=True)
                continue
            if normal not in out:
                out.append(normal)
        return out

    def dimensions(self, length: str | None, width: str | None, height: str | None) -> Dimensions | None:
        dims = Dimensions(self.measure("length", length) or "", self.measure("width", width) or "",
                          self.measure("height", height) or "")
        return None if dims.is_empty() else dims

    def finish(self, row: Row | None) -> tuple[Row | None, list[RecordError]]:
        if self.fatal:
            return None, self.fatal + self.soft
        return row, self.soft
