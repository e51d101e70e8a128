"""CSV / TSV records, streamed row by row with the encoding and delimiter detected.

Encoding: a BOM decides (UTF-8 / UTF-16); otherwise the whole file is checked as UTF-8 in
chunks (cheap, streaming) and, if that fails, cp1252 (a superset of latin-1 for text) is
assumed and the user is told. Delimiter: csv.Sniffer on a sample, restricted to , ; tab |.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

from wsync.errors import FeedRefused

DELIMITERS = ",;\t|"
# Fields are size-checked at mapping time (a clear record error) rather than by the csv module.
csv.field_size_limit(1 << 30)


def detect_encoding(path: Path, label: str, warn: Callable[[str], None]) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError as exc:
            position = offset + exc.start
    fallback = "cp1252"
    with open(path, "rb") as fh:
        try:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                chunk.decode("cp1252")
        except UnicodeDecodeError:
            fallback = "latin-1"
    warn(f"{label}: not valid UTF-8 (first bad byte at offset {position}); read as {fallback}. "
         f"Set encoding = \"...\" in the feed config if that is wrong.")
    return fallback


def detect_delimiter(sample: str) -> str | None:
    lines = sample.splitlines()
    if len(lines) > 1 and not sample.endswith("\n"):
        sample = "\n".join(lines[:-1])  # a row cut by the sample boundary confuses the sniffer
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = lines[0] if lines else ""
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else None


# A record another process maps: counted, not read.
SKIPPED: tuple[str, dict[str, str | None]] = ("", {})


class CsvFeed:
    def __init__(self, path: Path, label: str, *, encoding: str | None = None, delimiter: str | None = None,
                 warn: Callable[[str], None] = lambda m: None, pad_short_rows: bool = False):
        self.path, self.label = path, label
        # WooCommerce's exporter discovers attribute and meta columns as it goes, so rows written
        # before a column appeared are shorter than the header; its importer reads them as they
        # are. With pad_short_rows such a row's missing fields are absent (None), not blank.
        self.pad_short_rows = pad_short_rows
        # Set by a process that maps only some records (wsync.feeds.rows_pass.Share): the records
        # at the indexes it does not take (never the first) come as SKIPPED, no dict made.
        self.takes: Callable[[int], bool] | None = None
        self.encoding = encoding or detect_encoding(path, label, warn)
        try:
            with open(path, encoding=self.encoding, newline="") as fh:
                sample = fh.read(64 * 1024)
        except (UnicodeDecodeError, LookupError) as exc:
            raise FeedRefused(f"{label}: cannot be read as {self.encoding} ({exc})",
                              hint="set encoding = \"utf-8\" / \"cp1252\" / ... in the feed config") from None
        if not sample.strip():
            raise FeedRefused(f"{label}: the feed is empty (no header row)")
        self.delimiter = delimiter or detect_delimiter(sample) or ","
        self.header = next(csv.reader(io.StringIO(sample), delimiter=self.delimiter), [])
        self.header = [h.strip() for h in self.header]
        if len(self.header) <= 1:
            shown = self.header[0][:80] if self.header else ""
            raise FeedRefused(f"{label} line 1: the header has a single column ({shown!r}); the delimiter is "
                              f"not one of , ; tab | or was set wrongly",
                              hint="set delimiter = \";\" (or the right one) in the feed config")
        dupes = sorted({h for h in self.header if h and self.header.count(h) > 1})
        if dupes:
            warn(f"{label} line 1: duplicate column names {dupes}; the first of each is used")

    def __iter__(self) -> Iterator[tuple[str, dict[str, str | None]]]:
        name = self.path.name if self.label.endswith(self.path.name) else self.label
        with open(self.path, encoding=self.encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=self.delimiter, strict=True)
            header = self.header
            width = len(header)
            previous_end = 0
            takes = self.takes
            index = -1
            try:
                next(reader)
                previous_end = reader.line_num
                for values in reader:
                    start = previous_end + 1
                    previous_end = reader.line_num
                    if not values or (len(values) == 1 and not values[0].strip()):
                        continue
                    index += 1
                    if takes is not None and index and not takes(index):
                        yield SKIPPED
                        continue
                    where = f"{name} line {start}"
                    if len(values) > width or (len(values) < width and not self.pad_short_rows):
                        yield where, {"__width_error__": f"has {len(values)} fields, the header has {width}"}
                        continue
                    record: dict[str, str | None] = {}
                    # A short row (pad_short_rows) has fewer values than the header: the rest are None below.
                    for column, value in zip(header, values, strict=False):
                        record.setdefault(column, value)
                    for column in header[len(values):]:
                        record.setdefault(column, None)
                    yield where, record
            except csv.Error as exc:
                line = previous_end + 1
                if "unexpected end of data" in str(exc):
                    raise FeedRefused(f"{name} line {line}: a quoted field is never closed before the end of "
                                      "the file: the feed is truncated", hint="download it again") from None
                raise FeedRefused(f"{name} line {line}: malformed CSV ({exc})") from None
            except UnicodeDecodeError as exc:
                raise FeedRefused(f"{name} line {previous_end + 1}: cannot be decoded as {self.encoding} "
                                  f"({exc.reason})", hint="set encoding = \"...\" in the feed config") from None
