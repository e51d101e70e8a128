"""Feeds: open a source (file, URL, archive, paginated API), parse its format, map it to the catalogue.

    from wsync.feeds import FeedSpec, load_catalogue, LoadResult
"""

from wsync.feeds.loader import LoadResult, count, load_catalogue
from wsync.feeds.spec import FeedSpec

__all__ = ["FeedSpec", "LoadResult", "count", "load_catalogue"]
