"""Which image failures are the moment's (tried again soon) and which the image's (parked)."""

import pytest

from wsync.sync.image_failures import is_transient


@pytest.mark.parametrize("message", [
    "Invalid image: Unable to create directory wp-content/uploads/2026/12. "
    "Is its parent directory writable by the server?",
    "Invalid image: The uploaded file could not be moved to wp-content/uploads/2026/12.",
    "Error getting remote image http://cdn.example/a.jpg. Error: cURL error 28: Operation timed out after 5000 ms",
    "Error getting remote image http://cdn.example/a.jpg. Error: cURL error 7: Failed to connect to cdn.example",
    "Error getting remote image http://cdn.example/a.jpg. Error: Service Unavailable",
    "Error getting remote image http://cdn.example/a.jpg. Error: Too Many Requests",
    "Error getting remote image http://cdn.example/a.jpg. Error: HTTP 503.",
    "Error getting remote image http://cdn.example/a.jpg. Error: ConnectionError.",
])
def test_transient(message):
    assert is_transient(message)


@pytest.mark.parametrize("message", [
    "Error getting remote image http://cdn.example/a.jpg. Error: Not Found",
    "Error getting remote image http://cdn.example/a.jpg. Error: HTTP 404.",
    "Error getting remote image http://cdn.example/a.jpg. Error: Gone",
    "Invalid image: Sorry, you are not allowed to upload this file type.",
    "Invalid URL ftp://cdn.example/a.jpg.",
    "http://cdn.example/a.jpg is text/html, not an image.",
    "",
])
def test_permanent(message):
    assert not is_transient(message)
