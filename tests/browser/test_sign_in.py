"""Signing in through the sign-in page in Chromium: the home page after, an inline error for a
wrong password — in English and in Chinese."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from runtime.errors import ERRORS

#: The browser's language → the page's <html lang> and the home page's heading.
HOME = {"en-US": ("en", "Welcome, Alice Liddell"), "zh-CN": ("zh-CN", "欢迎，Alice Liddell")}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_sign_in_lands_on_home(page, live, sign_in_as, locale):
    alice = live.create_user("alice", display_name="Alice Liddell")
    sign_in_as(page, "alice", alice.password)
    assert urlsplit(page.url).path == "/"
    lang, heading = HOME[locale]
    assert page.get_by_role("heading", level=1).inner_text() == heading
    assert page.locator("html").get_attribute("lang") == lang
    assert page.errors == []


@pytest.mark.both_databases
def test_sign_in_goes_on_to_the_page_asked_for(page, live, sign_in_as):
    alice = live.create_user("alice")
    page.goto(f"{live.url}/account/password")
    assert urlsplit(page.url).path == "/sign-in"  # signed out: sent to sign in first
    sign_in_as(page, "alice", alice.password, next_url="/account/password")
    assert urlsplit(page.url).path == "/account/password"
    assert page.locator("input[name=new_password]").is_visible()
    assert page.errors == []


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_wrong_password_shows_an_inline_error(page, live, locale):
    live.create_user("alice")
    page.goto(f"{live.url}/sign-in")
    form = page.locator("form[action='/sign-in']")
    form.locator("input[name=username]").fill("alice")
    form.locator("input[name=password]").fill("Not-her-password-1")
    with page.expect_navigation():
        form.get_by_role("button").click()
    assert urlsplit(page.url).path == "/sign-in"
    alert = page.get_by_role("alert")
    assert alert.inner_text() == ERRORS["invalid_credentials"].title(locale=locale)
    assert form.locator("input[name=username]").input_value() == "alice"  # kept
    assert form.locator("input[name=password]").input_value() == ""  # not echoed back
    # The page itself is fine; Chromium only logs the document's 401 status.
    assert len(page.errors) == 1 and "401" in page.errors[0]


@pytest.mark.both_databases
def test_switch_language_between_chinese_and_english(page, live, sign_in_as, browser):
    alice = live.create_user("alice", display_name="Alice Liddell")
    sign_in_as(page, "alice", alice.password)
    assert page.locator("html").get_attribute("lang") == "en"
    bar = page.locator("form.language-switch--bar")
    # Choosing changes nothing by itself (WCAG 3.2.2 On Input): the button switches.
    bar.get_by_label("Language").select_option("zh-CN")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome, Alice Liddell"
    with page.expect_navigation():
        bar.get_by_role("button", name="Switch").click()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("heading", level=1).inner_text() == "欢迎，Alice Liddell"
    assert bar.get_by_label("语言").input_value() == "zh-CN"
    # The choice is Alice's setting: a new browser in English still gets Chinese once she signs in.
    other = browser.new_context(locale="en-US")
    try:
        fresh = other.new_page()
        sign_in_as(fresh, "alice", alice.password)
        assert fresh.get_by_role("heading", level=1).inner_text() == "欢迎，Alice Liddell"
    finally:
        other.close()
    # On a phone the switch is in her account menu (the top bar has no room for it).
    page.set_viewport_size({"width": 375, "height": 800})
    assert bar.is_hidden()
    page.locator("details.user-menu > summary").click()
    menu = page.locator("form.language-switch--menu")
    menu.get_by_label("语言").select_option("en")
    with page.expect_navigation():
        menu.get_by_role("button", name="切换").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome, Alice Liddell"
    assert page.errors == []
