"""Who a visitor is: a signed-in username, or else the address the trusted proxy saw; never an
entry of X-Forwarded-For the visitor could have written."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import Headers

import realdream
from demo._visitor import (
    FORWARDED_ALLOW_IPS_ENV,
    TRUSTED_PROXY_HOPS_ENV,
    AddressRule,
    distrust_proxy_headers,
    visitor_from,
)

PEER = AddressRule(0)
ONE_PROXY = AddressRule(1)


def request(peer: str, **headers: str) -> SimpleNamespace:
    """What a gr.Request offers: headers and the client (the socket peer, as uvicorn saw it)."""
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return SimpleNamespace(headers=named, client=SimpleNamespace(host=peer))


def forwarded(chain: str, peer: str = "10.0.0.1") -> SimpleNamespace:
    return request(peer, x_forwarded_for=chain)


def test_a_signed_in_visitor_is_their_username() -> None:
    visitor = visitor_from(forwarded("203.0.113.7"), "alice", addresses=ONE_PROXY)
    assert (visitor.id, visitor.signed_in) == ("user:alice", True)


def test_without_trusted_proxies_a_forwarded_address_is_ignored() -> None:
    plain = visitor_from(request("127.0.0.1"), None, addresses=PEER)
    forged = visitor_from(forwarded("203.0.113.7", peer="127.0.0.1"), None, addresses=PEER)
    assert plain == forged
    assert not plain.signed_in


@given(st.lists(st.ip_addresses(v=4).map(str), min_size=0, max_size=5))
def test_behind_one_proxy_whatever_a_visitor_writes_on_the_left_counts_them_once(
    forged: list[str],
) -> None:
    real = visitor_from(forwarded("203.0.113.7"), None, addresses=ONE_PROXY)
    chain = ", ".join([*forged, "203.0.113.7"])
    assert visitor_from(forwarded(chain), None, addresses=ONE_PROXY) == real


def test_behind_one_proxy_two_addresses_are_two_visitors() -> None:
    first = visitor_from(forwarded("203.0.113.1"), None, addresses=ONE_PROXY)
    second = visitor_from(forwarded("203.0.113.1, 203.0.113.2"), None, addresses=ONE_PROXY)
    assert first != second


def test_behind_two_proxies_the_entry_the_outer_one_added_is_the_visitor() -> None:
    two = AddressRule(2)
    real = visitor_from(forwarded("203.0.113.7, 10.9.9.9"), None, addresses=two)
    forged = visitor_from(forwarded("198.51.100.1, 203.0.113.7, 10.9.9.8"), None, addresses=two)
    assert real == forged
    other = visitor_from(forwarded("203.0.113.8, 10.9.9.9"), None, addresses=two)
    assert other != real


def test_a_header_shorter_than_the_proxies_falls_back_to_the_peer() -> None:
    two = AddressRule(2)
    short = visitor_from(forwarded("203.0.113.7", peer="10.0.0.1"), None, addresses=two)
    also = visitor_from(forwarded("198.51.100.9", peer="10.0.0.1"), None, addresses=two)
    none = visitor_from(request("10.0.0.1"), None, addresses=two)
    assert short == also == none


def test_every_line_of_the_header_counts_in_order() -> None:
    lines = SimpleNamespace(
        headers=Headers(
            raw=[(b"x-forwarded-for", b"198.51.100.1"), (b"x-forwarded-for", b"2.2.2.2")]
        ),
        client=SimpleNamespace(host="10.0.0.1"),
    )
    one_line = forwarded("203.0.113.5, 2.2.2.2")
    assert visitor_from(lines, None, addresses=ONE_PROXY) == visitor_from(
        one_line, None, addresses=ONE_PROXY
    )


def test_the_header_name_is_read_in_any_case() -> None:
    upper = visitor_from(
        request("10.0.0.9", X_Forwarded_For="203.0.113.7"), None, addresses=ONE_PROXY
    )
    assert upper == visitor_from(forwarded("203.0.113.7"), None, addresses=ONE_PROXY)


def test_without_the_header_the_peer_is_the_visitor() -> None:
    assert visitor_from(request("10.0.0.1"), None, addresses=ONE_PROXY) != visitor_from(
        request("10.0.0.2"), None, addresses=ONE_PROXY
    )


def test_addresses_are_hashed_never_kept() -> None:
    visitor = visitor_from(forwarded("203.0.113.7"), None, addresses=ONE_PROXY)
    assert visitor.id.startswith("addr:")
    assert "203.0.113" not in visitor.id


def test_a_direct_call_without_a_request_is_one_anonymous_visitor() -> None:
    assert visitor_from(None, None, addresses=PEER) == visitor_from(None, None, addresses=ONE_PROXY)


def test_the_entries_that_arrive_are_logged_once_per_length_without_addresses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="demo")
    rule = AddressRule(1)
    for chain in ("203.0.113.7", "203.0.113.8", "198.51.100.1, 203.0.113.7"):
        visitor_from(forwarded(chain), None, addresses=rule)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "a request arrived with 1 X-Forwarded-For entries; it is counted by the one 1st from "
        "the right",
        "a request arrived with 2 X-Forwarded-For entries; it is counted by the one 1st from "
        "the right",
    ]
    assert "203.0.113" not in caplog.text


# --- the rule, from the environment -----------------------------------------------------------


def test_on_a_space_one_proxy_is_trusted_and_elsewhere_none() -> None:
    assert AddressRule.from_env({"SPACE_ID": "me/realdream"}) == AddressRule(1)
    assert AddressRule.from_env({}) == AddressRule(0)


def test_the_number_of_trusted_proxies_comes_from_its_variable() -> None:
    assert AddressRule.from_env({TRUSTED_PROXY_HOPS_ENV: " 3 "}) == AddressRule(3)
    assert AddressRule.from_env({TRUSTED_PROXY_HOPS_ENV: "2", "SPACE_ID": "a/b"}).hops == 2


@given(st.text(max_size=30).filter(lambda t: t.strip() not in {str(n) for n in range(1, 11)}))
def test_a_number_of_proxies_that_cannot_be_true_is_refused_naming_the_variable(
    text: str,
) -> None:
    if not text.strip():
        assert AddressRule.from_env({TRUSTED_PROXY_HOPS_ENV: text}) == AddressRule(0)
        return
    with pytest.raises(realdream.ConfigurationError) as caught:
        AddressRule.from_env({TRUSTED_PROXY_HOPS_ENV: text})
    message = str(caught.value)
    assert message.startswith(f"{TRUSTED_PROXY_HOPS_ENV}={text.strip()!r}: must be a whole number")
    assert "from 1 to 10" in message


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "11", "1e3", "99999999999999999999", "two"])
def test_zero_negative_fractional_or_absurd_proxy_counts_are_refused(text: str) -> None:
    with pytest.raises(realdream.ConfigurationError, match=TRUSTED_PROXY_HOPS_ENV):
        AddressRule.from_env({TRUSTED_PROXY_HOPS_ENV: text})


def test_the_rule_reads_as_one_line_for_the_start_up_log() -> None:
    assert "socket peer" in AddressRule(0).describe()
    text = AddressRule(1).describe()
    assert "X-Forwarded-For entry 1st from the right" in text
    assert "never by the leftmost" in text
    assert "2nd from the right" in AddressRule(2).describe()


# --- uvicorn's own reading ---------------------------------------------------------------------


def test_off_spaces_uvicorn_is_told_to_trust_no_proxy() -> None:
    env: dict[str, str] = {}
    distrust_proxy_headers(env)
    assert env == {FORWARDED_ALLOW_IPS_ENV: ""}


def test_an_owners_own_proxy_setting_and_spaces_are_left_alone() -> None:
    owner = {FORWARDED_ALLOW_IPS_ENV: "10.1.2.3"}
    distrust_proxy_headers(owner)
    assert owner == {FORWARDED_ALLOW_IPS_ENV: "10.1.2.3"}
    space = {"SPACE_ID": "me/realdream"}
    distrust_proxy_headers(space)
    assert space == {"SPACE_ID": "me/realdream"}
