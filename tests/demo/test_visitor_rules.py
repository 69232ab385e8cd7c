"""Who a visitor is, pinned down rule by rule (mutation testing found them loose): the proxy
hops setting and its bounds, how a header and a peer are read, what the start-up log says, and
the process environment as the default."""

from __future__ import annotations

import logging
import os
import re
from types import SimpleNamespace

import pytest

import realdream
from demo._visitor import (
    FORWARDED_ALLOW_IPS_ENV,
    MAX_PROXY_HOPS,
    SPACE_ID_ENV,
    TRUSTED_PROXY_HOPS_ENV,
    AddressRule,
    _ordinal,
    distrust_proxy_headers,
    on_spaces,
    visitor_from,
)

ONE_PROXY = AddressRule(1)


def _request(peer: object, chain: str | None = None) -> SimpleNamespace:
    headers = {} if chain is None else {"x-forwarded-for": chain}
    return SimpleNamespace(headers=headers, client=SimpleNamespace(host=peer))


def _id(request: object, rule: AddressRule = ONE_PROXY) -> str:
    return visitor_from(request, None, addresses=rule).id


# --- the proxy hops setting -----------------------------------------------------------------------
@pytest.mark.parametrize(("text", "hops"), [("1", 1), ("01", 1), (" 2 ", 2), ("10", 10)])
def test_the_hops_setting_reads_a_whole_number_from_one_to_ten(text: str, hops: int) -> None:
    assert AddressRule.from_env({TRUSTED_PROXY_HOPS_ENV: text}).hops == hops


@pytest.mark.parametrize("text", ["0", "11", "010", "99", "-1", "1.0", "one", "\u0663"])
def test_a_hops_setting_outside_one_to_ten_is_refused_naming_it(text: str) -> None:
    message = (
        f"{TRUSTED_PROXY_HOPS_ENV}={text!r}: must be a whole number from 1 to 10 (the proxies in "
        "front of the app that add to X-Forwarded-For; on a Space, 1)"
    )
    with pytest.raises(realdream.ConfigurationError, match=f"^{re.escape(message)}$"):
        AddressRule.from_env({TRUSTED_PROXY_HOPS_ENV: text})


def test_a_rule_counts_from_zero_to_ten_hops_and_no_further() -> None:
    assert AddressRule().hops == 0
    assert AddressRule(MAX_PROXY_HOPS).hops == 10
    for hops in (-1, 11):
        with pytest.raises(ValueError, match=rf"^hops={hops}: must be from 0 to 10$"):
            AddressRule(hops)


def test_a_rule_equals_only_a_rule_with_as_many_hops() -> None:
    assert AddressRule(2) == AddressRule(2)
    assert AddressRule(2) != AddressRule(3)
    assert AddressRule(2) != SimpleNamespace(hops=2)
    assert AddressRule(0) != "0"


# --- the process environment is the default -------------------------------------------------------
def test_without_an_environment_given_the_process_environment_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # set, then unset: monkeypatch now restores whatever the code under test writes there
    monkeypatch.setenv(FORWARDED_ALLOW_IPS_ENV, "127.0.0.1")
    monkeypatch.delenv(FORWARDED_ALLOW_IPS_ENV)
    assert not on_spaces()
    assert AddressRule.from_env().hops == 0
    distrust_proxy_headers()
    assert os.environ[FORWARDED_ALLOW_IPS_ENV] == ""  # uvicorn then trusts no proxy header
    monkeypatch.delenv(FORWARDED_ALLOW_IPS_ENV)
    monkeypatch.setenv(SPACE_ID_ENV, "owner/space")
    assert on_spaces()
    assert AddressRule.from_env().hops == 1
    distrust_proxy_headers()
    assert FORWARDED_ALLOW_IPS_ENV not in os.environ  # on a Space its proxy is trusted
    monkeypatch.setenv(TRUSTED_PROXY_HOPS_ENV, "3")
    assert AddressRule.from_env().hops == 3


# --- how a request is read ------------------------------------------------------------------------
def test_entries_are_split_on_commas_with_or_without_spaces() -> None:
    assert _id(_request("10.0.0.1", "203.0.113.5,198.51.100.7")) == _id(
        _request("10.0.0.1", "198.51.100.7")
    )
    assert _id(_request("10.0.0.1", "203.0.113.5,198.51.100.7"), AddressRule(2)) == _id(
        _request("10.0.0.1", "203.0.113.5")
    )


def test_a_peer_with_no_address_counts_as_unknown_like_a_request_with_no_peer() -> None:
    unknown = _id(SimpleNamespace(headers={}), AddressRule(0))
    assert _id(_request(""), AddressRule(0)) == unknown
    assert _id(_request(None), AddressRule(0)) == unknown
    assert _id(_request("10.0.0.1"), AddressRule(0)) != unknown


def test_an_address_is_kept_as_twelve_hex_digits_of_a_keyed_hash() -> None:
    visitor = visitor_from(_request("198.51.100.7"), None, addresses=AddressRule(0))
    assert re.fullmatch(r"addr:[0-9a-f]{12}", visitor.id)
    assert "198.51.100.7" not in visitor.id


def test_each_length_of_header_is_logged_once_and_at_most_eight_lengths(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rule = AddressRule(1)
    with caplog.at_level(logging.INFO, logger="demo"):
        for length in [1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 2]:
            rule.address(_request("10.0.0.1", ", ".join(["203.0.113.9"] * length)))
    assert [record.getMessage() for record in caplog.records] == [
        f"a request arrived with {n} X-Forwarded-For entries; it is counted by the one 1st from "
        "the right"
        for n in range(1, 9)
    ]


# --- what the start-up log says -------------------------------------------------------------------
def test_the_rule_describes_itself_for_the_start_up_log() -> None:
    assert AddressRule(0).describe() == (
        "anonymous visitors are counted by the socket peer (X-Forwarded-For ignored)"
    )
    assert AddressRule(3).describe() == (
        "anonymous visitors are counted by the X-Forwarded-For entry 3rd from the right, the one "
        f"the trusted proxy added ({TRUSTED_PROXY_HOPS_ENV}=3); never by the leftmost, which a "
        "visitor can forge"
    )


@pytest.mark.parametrize(
    ("n", "word"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (9, "9th"),
        (10, "10th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (20, "20th"),
        (21, "21st"),
        (22, "22nd"),
        (23, "23rd"),
        (101, "101st"),
        (111, "111th"),
        (112, "112th"),
        (211, "211th"),
    ],
)
def test_ordinals_read_as_english(n: int, word: str) -> None:
    assert _ordinal(n) == word
