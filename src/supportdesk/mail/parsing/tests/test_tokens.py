"""Reply tokens: signed, short, case-blind, and useless when tampered with."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supportdesk.mail.parsing import (
    reply_address,
    sign_reply_token,
    ticket_id_from_addresses,
    token_from_address,
    verify_reply_token,
)
from supportdesk.mail.parsing.tokens import MAX_TICKET_ID, TOKEN_MAC_LENGTH

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def test_round_trip_and_shape() -> None:
    token = sign_reply_token(1042, KEY)
    assert token == token.lower()
    assert token.isalnum()
    assert token.startswith("sy")  # 1042 in base 36
    assert len(token) == 2 + TOKEN_MAC_LENGTH
    assert verify_reply_token(token, KEY) == 1042


@given(st.integers(min_value=0, max_value=MAX_TICKET_ID), st.binary(min_size=1, max_size=64))
@settings(max_examples=200, database=None)
def test_any_ticket_round_trips(ticket_id: int, key: bytes) -> None:
    token = sign_reply_token(ticket_id, key)
    assert verify_reply_token(token, key) == ticket_id
    assert verify_reply_token(token.upper(), key) == ticket_id


def test_case_changes_by_mail_systems_do_not_matter() -> None:
    token = sign_reply_token(7, KEY)
    address = reply_address("support@example.com", token)
    mangled = address.upper()
    assert ticket_id_from_addresses([mangled], [KEY]) == 7


def test_wrong_key_is_rejected() -> None:
    assert verify_reply_token(sign_reply_token(1042, KEY), OTHER_KEY) is None


def test_every_single_character_change_is_rejected() -> None:
    token = sign_reply_token(1042, KEY)
    for index, original in enumerate(token):
        for replacement in "0123456789abcdefghijklmnopqrstuvwxyz":
            if replacement == original:
                continue
            tampered = token[:index] + replacement + token[index + 1 :]
            assert verify_reply_token(tampered, KEY) is None, tampered


def test_another_tickets_id_with_this_mac_is_rejected() -> None:
    token = sign_reply_token(1042, KEY)
    forged = sign_reply_token(1043, KEY)[:-TOKEN_MAC_LENGTH] + token[-TOKEN_MAC_LENGTH:]
    assert verify_reply_token(forged, KEY) is None


@pytest.mark.parametrize(
    "token", ["", "abc", "ss!" + "a" * TOKEN_MAC_LENGTH, " " * 20, "0ss" + "a" * TOKEN_MAC_LENGTH]
)
def test_malformed_tokens_are_rejected(token: str) -> None:
    assert verify_reply_token(token, KEY) is None


def test_zero_padded_spelling_is_rejected() -> None:
    token = sign_reply_token(1042, KEY)
    assert verify_reply_token("0" + token, KEY) is None


def test_signing_validates_its_input() -> None:
    with pytest.raises(TypeError):
        sign_reply_token(True, KEY)
    with pytest.raises(ValueError, match="range"):
        sign_reply_token(-1, KEY)
    with pytest.raises(ValueError, match="key"):
        sign_reply_token(1, b"")
    assert verify_reply_token(sign_reply_token(1, KEY), b"") is None


def test_plus_addresses() -> None:
    token = sign_reply_token(5, KEY)
    address = reply_address("support@example.com", token)
    assert address == f"support+{token}@example.com"
    assert reply_address("support+old@example.com", token) == address
    assert token_from_address(address) == token
    assert token_from_address(f'"Example Support" <{address.upper()}>') == token
    assert token_from_address("support@example.com") is None
    assert token_from_address("not an address") is None
    with pytest.raises(ValueError, match="e-mail address"):
        reply_address("nobody", token)


def test_ticket_from_recipients_tries_every_address_and_key() -> None:
    token = sign_reply_token(99, OTHER_KEY)
    recipients = ["cc@example.org", "support+garbage@example.com", reply_address("s@x.io", token)]
    assert ticket_id_from_addresses(recipients, [KEY, OTHER_KEY]) == 99
    assert ticket_id_from_addresses(recipients, [KEY]) is None
