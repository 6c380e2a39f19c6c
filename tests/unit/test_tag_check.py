import pytest

from chalicelib.domain.tag_check import address_refusal, find_tag


@pytest.mark.parametrize(
    ("html", "present", "ids"),
    [
        ('<script async src="https://api.example.com/tag.js" data-site="s_1"></script>', True, ("s_1",)),
        ("<SCRIPT data-site='s_2' src='/tag.js?v=3' async></SCRIPT>", True, ("s_2",)),
        ("<script src=https://x/api/tag.js data-site=s_3></script>", True, ("s_3",)),
        ('<script src="https://x/tag.js"></script>', True, ("",)),
        ('<script src="https://x/other.js" data-site="s_1"></script><p>tag.js</p>', False, ()),
        ("", False, ()),
    ],
)
def test_the_tag_and_its_site_id_are_found_in_the_page(html, present, ids):
    finding = find_tag(html)
    assert (finding.present, finding.site_ids) == (present, ids)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.5",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(address):
    assert address_refusal(address, allow_private=False)


def test_public_addresses_pass_and_the_local_stage_may_fetch_loopback():
    assert address_refusal("93.184.216.34", allow_private=False) is None
    assert address_refusal("2606:2800:220:1:248:1893:25c8:1946", allow_private=False) is None
    assert address_refusal("127.0.0.1", allow_private=True) is None
    assert address_refusal("0.0.0.0", allow_private=True)
