"""The WordPress REST error shape: `{"code", "message", "data": {"status", ...}}`."""

from __future__ import annotations

from typing import Any


class RestError(Exception):
    """An error answer. Raised anywhere below the HTTP layer, rendered as WordPress does."""

    def __init__(self, code: str, message: str, status: int = 400, **data: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.data = data

    def body(self) -> dict:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}


def invalid_param(param: str, message: str, detail_code: str, detail_data: Any = None) -> RestError:
    """Schema validation failure of a single (non-batch) request."""
    return RestError(
        "rest_invalid_param",
        f"Invalid parameter(s): {param}",
        400,
        params={param: message},
        details={param: {"code": detail_code, "message": message, "data": detail_data}},
    )


def invalid_id(status: int = 404) -> RestError:
    return RestError("woocommerce_rest_product_invalid_id", "Invalid ID.", status)
