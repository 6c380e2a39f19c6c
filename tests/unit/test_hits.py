import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.bots import bot_reason
from chalicelib.domain.hits import InvalidHitError, SiteRules, parse_hit, truncate_ip
from chalicelib.domain.ratelimit import WindowCounter
from chalicelib.domain.site import InvalidSiteError, new_site

RULES = SiteRules("s1", ("shop.example.jp", "example.com"))
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def test_a_page_view_keeps_what_the_marketer_needs():
    hit = parse_hit(
        {
            "k": "pageview",
            "u": "https://shop.example.jp/pricing?utm_source=mail&utm_campaign=spring&x=1",
            "t": "Pricing",
            "r": "https://google.com/",
            "s": "1920x1080",
            "v": "visitor-123",
        },
        RULES,
    )
    assert (hit.path, hit.title, hit.referrer, hit.screen) == (
        "/pricing",
        "Pricing",
        "https://google.com/",
        "1920x1080",
    )
    assert hit.utm == {"utm_source": "mail", "utm_campaign": "spring"}


def test_subdomains_of_a_site_domain_belong_to_it():
    assert parse_hit({"u": "https://www.example.com/"}, RULES).path == "/"


@pytest.mark.parametrize(
    ("payload", "status", "reason"),
    [
        ({"u": "https://evil.example/"}, 403, "foreign_url"),
        ({"u": "https://notexample.com/"}, 403, "foreign_url"),
        ({"u": "javascript:alert(1)"}, 400, "bad_url"),
        ({"u": "https://example.com/", "k": "delete"}, 400, "bad_kind"),
        ({"u": "https://example.com/", "v": "../../etc"}, 400, "bad_visitor"),
        ({"u": "https://example.com/", "k": "event", "n": "<script>"}, 400, "bad_name"),
        ({"u": "https://example.com/", "k": "event", "n": "x", "p": {"a": {"nested": 1}}}, 400, "bad_props"),
        ({"u": "https://example.com/", "k": "conversion", "n": "buy", "a": "NaN"}, 400, "bad_amount"),
        ({"u": "https://example.com/", "t": ["not", "text"]}, 400, "bad_field"),
        (["not", "an", "object"], 400, "not_an_object"),
    ],
)
def test_hostile_beacons_get_a_4xx_that_names_the_problem(payload, status, reason):
    with pytest.raises(InvalidHitError) as error:
        parse_hit(payload, RULES)
    assert (error.value.status, error.value.reason) == (status, reason)


def test_markup_is_kept_as_inert_text_and_long_values_are_capped():
    hit = parse_hit(
        {
            "u": "https://example.com/?utm_source=<script>alert(1)</script>",
            "t": "<img src=x onerror=alert(1)>\x00" + "x" * 5000,
        },
        RULES,
    )
    assert hit.title.startswith("<img src=x onerror=alert(1)>") and "\x00" not in hit.title
    assert len(hit.title) <= 200 and hit.utm["utm_source"] == "<script>alert(1)</script>"


def test_a_conversion_carries_an_exact_amount():
    hit = parse_hit(
        {
            "u": "https://example.com/",
            "k": "conversion",
            "n": "purchase",
            "p": {"product": "tea", "quantity": 2},
            "a": 1200.5,
        },
        RULES,
    )
    assert (hit.name, hit.props, hit.amount) == ("purchase", {"product": "tea", "quantity": "2"}, "1200.5")


def test_origins_are_allowed_only_for_the_sites_domains():
    assert RULES.allows_origin("https://shop.example.jp")
    assert RULES.allows_origin(None)
    assert not RULES.allows_origin("https://shop.example.jp.evil.com")
    assert not RULES.allows_origin("null")


@pytest.mark.parametrize(
    ("address", "kept"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::"),
        ("garbage", ""),
    ],
)
def test_ips_are_truncated_before_storage(address, kept):
    assert truncate_ip(address) == kept


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36",
        "curl/8.0",
        "python-requests/2.31",
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0)",
        "facebookexternalhit/1.1",
        "",
    ],
)
def test_bots_and_link_scanners_are_classified(agent):
    assert bot_reason(agent) is not None


def test_people_pass_and_heads_and_impossible_speeds_do_not():
    assert bot_reason(CHROME) is None
    assert bot_reason(CHROME, method="HEAD") == "head_request"
    assert bot_reason(CHROME, hits_this_second=20) == "impossible_speed"


def test_window_counter_resets_each_window():
    now = [100.0]
    counter = WindowCounter(10, lambda: now[0])
    assert [counter.add("a") for _ in range(3)] == [1, 2, 3]
    now[0] = 111.0
    assert counter.add("a") == 1


def test_a_site_needs_real_host_names():
    site = new_site({"name": "Shop", "domains": ["Shop.Example.JP."]}, "2026-01-01")
    assert site.domains == ("shop.example.jp",) and site.secret and site.site_id.startswith("s_")
    for domains in (["https://shop.example.jp"], ["shop.example.jp/path"], [], "shop.example.jp"):
        with pytest.raises(InvalidSiteError):
            new_site({"name": "Shop", "domains": domains}, "2026-01-01")


_URL_PARTS = st.lists(
    st.sampled_from(
        [
            "https://",
            "HTTP://",
            "http:",
            "//",
            "shop.example.jp",
            "Example.COM",
            ":8080",
            ":",
            "@",
            "u:p@",
            "[::1]",
            "[",
            "/",
            "/商品",
            "?",
            "utm_source=",
            "utm_medium=a+b",
            "%5F",
            "&",
            "=",
            "#",
            "x",
            " ",
            "\t",
            "\x00",
            "%E5%B1%B1",
            ";",
        ]
    ),
    max_size=12,
).map("".join)


@given(_URL_PARTS)
def test_any_page_address_is_read_as_urlsplit_and_parse_qsl_read_it(url):
    """The beacon's quick split of a page's address agrees with the standard library's, on
    addresses made of the parts that make parsers disagree -- or refuses it as bad_url."""
    from urllib.parse import parse_qsl, urlsplit

    seen = "".join(c for c in url if c.isprintable())  # what the beacon keeps of any text
    try:
        parts = urlsplit(seen)
        expected_host = parts.hostname
    except ValueError:
        with pytest.raises(InvalidHitError) as error:
            parse_hit({"u": url}, RULES)
        assert error.value.reason == "bad_url"
        return
    try:
        hit = parse_hit({"u": url}, SiteRules("s1", ((expected_host or "none.invalid").lower(),)))
    except InvalidHitError as error:
        assert error.reason == "bad_url" and (parts.scheme not in ("http", "https") or not expected_host)
        return
    query = dict(parse_qsl(parts.query))
    assert hit.path == (parts.path or "/")[:512]
    assert hit.utm == {
        k: query[k][:100]
        for k in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
        if query.get(k)
    }
