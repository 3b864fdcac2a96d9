"""The sandbox's signer must agree with the validator the console uses: twilio's own."""

from __future__ import annotations

from urllib.parse import urlparse

from hypothesis import assume, given
from hypothesis import strategies as st
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from sandbox.signing import compute_signature

tokens = st.text("0123456789abcdef", min_size=32, max_size=32)
names = st.text(min_size=1, max_size=12)
values = st.text(max_size=40)
pairs = st.lists(st.tuples(names, values), max_size=8)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https"]))
    host = draw(st.sampled_from(["example.com", "console.nors.test", "127.0.0.1", "localhost"]))
    port = draw(st.none() | st.integers(1, 65535))
    path = draw(st.text("abcxyz019-_./~é", max_size=20))
    query = draw(st.none() | st.text("abc=&+%20éZ9", min_size=1, max_size=20))
    url = f"{scheme}://{host}{'' if port is None else f':{port}'}/{path}"
    url += "" if query is None else f"?{query}"
    # The validator rebuilds the URL with urlparse; skip spellings it would normalise.
    assume(urlparse(url).geturl() == url)
    return url


def twilio_signature(token: str, url: str, params: list[tuple[str, str]]) -> str:
    return RequestValidator(token).compute_signature(url, MultiDict(params))


@given(tokens, urls(), pairs)
def test_it_matches_twilios_signature(token: str, url: str, params: list[tuple[str, str]]) -> None:
    assert compute_signature(token, url, params) == twilio_signature(token, url, params)


@given(tokens, urls(), pairs)
def test_it_passes_twilios_validator(token: str, url: str, params: list[tuple[str, str]]) -> None:
    signature = compute_signature(token, url, params)
    assert RequestValidator(token).validate(url, MultiDict(params), signature)


@given(tokens, urls(), st.dictionaries(names, values, max_size=8))
def test_it_accepts_a_plain_dict(token: str, url: str, params: dict[str, str]) -> None:
    signature = compute_signature(token, url, params)
    assert RequestValidator(token).validate(url, params, signature)


@given(tokens, urls(), pairs.filter(bool), st.data())
def test_it_fails_when_a_value_is_tampered_with(
    token: str, url: str, params: list[tuple[str, str]], data: st.DataObject
) -> None:
    signature = compute_signature(token, url, params)
    index = data.draw(st.integers(0, len(params) - 1))
    name, value = params[index]
    # Appending always changes the signed string's length, so no accidental collision.
    tampered = [*params[:index], (name, value + "x"), *params[index + 1 :]]
    assert not RequestValidator(token).validate(url, MultiDict(tampered), signature)


@given(tokens, tokens, urls(), pairs)
def test_it_fails_under_another_token(
    token: str, other: str, url: str, params: list[tuple[str, str]]
) -> None:
    assume(token != other)
    signature = compute_signature(token, url, params)
    assert not RequestValidator(other).validate(url, MultiDict(params), signature)


@given(tokens, urls(), pairs)
def test_it_fails_for_another_url(token: str, url: str, params: list[tuple[str, str]]) -> None:
    signature = compute_signature(token, url, params)
    assert not RequestValidator(token).validate(url + "extra", MultiDict(params), signature)


def test_it_signs_unicode_emoji_and_empty_values() -> None:
    params = {"Body": "Ça va? 🙂 je suis là", "Empty": "", "To": "+15145550123"}
    url = "https://console.example.org:8443/twilio/sms/?lang=fr&x=%C3%A9"
    signature = compute_signature("token", url, params)
    assert signature == RequestValidator("token").compute_signature(url, params)
    assert RequestValidator("token").validate(url, params, signature)


def test_it_signs_each_value_of_a_repeated_name_in_order() -> None:
    forward = [("Event", "ringing"), ("Event", "answered"), ("A", "1")]
    backward = list(reversed(forward))
    assert compute_signature("t", "https://x.test/", forward) == compute_signature(
        "t", "https://x.test/", backward
    )
    assert compute_signature("t", "https://x.test/", forward) == twilio_signature(
        "t", "https://x.test/", forward
    )


def test_it_depends_on_every_pair() -> None:
    url = "https://x.test/"
    base = compute_signature("t", url, [("A", "1"), ("A", "2")])
    assert base != compute_signature("t", url, [("A", "1")])
    assert base != compute_signature("t", url, [("A", "12")])
