"""wsync: keep a WooCommerce store in sync with wholesaler feeds."""

__version__ = "0.1.0"
