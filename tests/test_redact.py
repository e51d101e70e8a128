from wsync.redact import mask, redact, register_secret


def test_registered_secret_is_masked_everywhere():
    register_secret("cs_0123456789abcdef0123456789abcdef01234567")
    text = redact("failed: secret cs_0123456789abcdef0123456789abcdef01234567 rejected")
    assert "0123456789abcdef" not in text
    assert "cs_…4567" in text


def test_query_string_credentials_are_scrubbed():
    url = "https://shop.example/wp-json/wc/v3/products?consumer_key=ck_abc&consumer_secret=cs_def&oauth_signature=xyz"
    text = redact(url)
    assert "ck_abc" not in text and "cs_def" not in text and "xyz" not in text


def test_basic_auth_in_url_and_header_are_scrubbed():
    assert "hunter2" not in redact("https://user:hunter2@feeds.example/x.csv")
    assert "dXNlcjpwYXNz" not in redact("Authorization: Basic dXNlcjpwYXNz")


def test_mask_keeps_prefix_and_last_four():
    assert mask("ck_1234567890abcdef1a2b") == "ck_…1a2b"


def test_patterns_match_whatever_the_case_of_their_words():
    # redact() skips a pattern when its words are absent, on a lower-cased copy: upper case must still count
    assert "xyz" not in redact("https://s.example/x?OAUTH_SIGNATURE=xyz&Access_Token=abc")
    assert "abc" not in redact("https://s.example/x?OAUTH_SIGNATURE=xyz&Access_Token=abc")
    assert "dXNlcjpwYXNz" not in redact("AUTHORIZATION: bearer dXNlcjpwYXNz")
    assert "pw" not in redact("HTTPS://u:pw@h.example/f.csv").split("@")[0]
