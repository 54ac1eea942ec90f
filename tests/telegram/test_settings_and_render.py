"""TelegramSettings from the environment, and the adapter's texts within Telegram's limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.telegrambot import TelegramSettings, TelegramSettingsError, render
from bots.telegrambot.settings import CLOUD_BASE_URL, CLOUD_UPLOAD_LIMIT, SELF_HOSTED_UPLOAD_LIMIT
from core.events import PostRef
from core.records import LineageNode
from tests.fakes.telegram_server import no_real_network

__all__ = ["no_real_network"]


def test_no_token_means_the_adapter_is_off() -> None:
    assert TelegramSettings.from_env({}) is None
    assert TelegramSettings.from_env({"SORABOX_TELEGRAM_TOKEN": "  "}) is None


def test_the_cloud_api_is_the_default_with_its_50_mb_upload_limit() -> None:
    settings = TelegramSettings.from_env({"SORABOX_TELEGRAM_TOKEN": "123:abc"})
    assert settings is not None
    assert settings.base_url == CLOUD_BASE_URL and not settings.self_hosted
    assert settings.upload_limit_bytes == CLOUD_UPLOAD_LIMIT
    assert settings.webhook_url == "" and settings.poll_timeout_seconds == 30


def test_a_self_hosted_bot_api_server_gets_2000_mb_and_a_file_url_beside_it() -> None:
    settings = TelegramSettings.from_env(
        {"SORABOX_TELEGRAM_TOKEN": "123:abc", "SORABOX_TELEGRAM_BASE_URL": "http://bot-api:8081/bot"}
    )
    assert settings is not None
    assert settings.base_file_url == "http://bot-api:8081/file/bot"
    assert settings.upload_limit_bytes == SELF_HOSTED_UPLOAD_LIMIT


def test_webhook_url_sets_webhook_mode_and_its_path() -> None:
    settings = TelegramSettings.from_env(
        {"SORABOX_TELEGRAM_TOKEN": "123:abc", "SORABOX_TELEGRAM_WEBHOOK_URL": "https://sora.example.org/tg/hook"}
    )
    assert settings is not None and settings.webhook_path == "/tg/hook"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SORABOX_TELEGRAM_TOKEN", "no-colon", "SORABOX_TELEGRAM_TOKEN"),
        ("SORABOX_TELEGRAM_BASE_URL", "ftp://x/bot", "SORABOX_TELEGRAM_BASE_URL"),
        ("SORABOX_TELEGRAM_UPLOAD_LIMIT_MB", "lots", "SORABOX_TELEGRAM_UPLOAD_LIMIT_MB"),
        ("SORABOX_TELEGRAM_EDIT_INTERVAL", "-1", "SORABOX_TELEGRAM_EDIT_INTERVAL"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    env = {"SORABOX_TELEGRAM_TOKEN": "123:abc", name: value}
    with pytest.raises(TelegramSettingsError, match=message):
        TelegramSettings.from_env(env)


def test_caption_keeps_the_credits_line_and_fits_1024_utf16_units() -> None:
    prompt = "🎈" * 900  # two UTF-16 units each
    caption = render.clip_caption(f"{prompt}\n— Ana · 55 credits left today", "k3f9x2ab")
    assert render.utf16_len(caption) <= render.CAPTION_LIMIT
    assert caption.endswith("— Ana · 55 credits left today · clip k3f9x2ab")
    assert caption.startswith("🎈🎈") and "…" in caption


def test_button_data_stays_within_64_bytes_and_parses_back() -> None:
    markup = render.keyboard("k3f9x2ab")
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert all(len(str(d).encode()) <= render.CALLBACK_DATA_LIMIT for d in data)
    assert [render.parse_button(str(d)) for d in data] == [
        ("rmx", "k3f9x2ab"),
        ("ext", "k3f9x2ab"),
        ("rr", "k3f9x2ab"),
        ("del", "k3f9x2ab"),
    ]
    assert render.parse_button("rmx:../../etc") is None and render.parse_button(None) is None


def test_core_text_becomes_html_with_ids_as_code_and_escaped_markup() -> None:
    assert render.to_html("queued `k3f9x2ab` <b>&") == "queued <code>k3f9x2ab</code> &lt;b&gt;&amp;"


def test_progress_shows_step_bar_and_estimate() -> None:
    assert render.progress("k3f9x2ab", 3, 10, "generating", 14) == (
        "🎬 `k3f9x2ab` step 3/10 ███░░░░░░░ about 14 s left"
    )
    assert "encoding" in render.progress("k3f9x2ab", 10, 10, "encoding", 0)


def test_tree_links_each_clip_to_its_message_in_a_supergroup_topic() -> None:
    post = PostRef("telegram", "-1001234567890", "42", "7")
    child = LineageNode("b2b2b2b2", "remix", "make it <blue>", "Bob", "t", posts=(post,))
    root = LineageNode("a1a1a1a1", "generate", "a bottle", "Ana", "t", children=(child,))
    text = render.tree_html(root, "b2b2b2b2")
    assert '<a href="https://t.me/c/1234567890/7/42">b2b2b2b2</a> Bob remixed: make it &lt;blue&gt; ◀' in text
    assert "<code>a1a1a1a1</code> Ana made: a bottle" in text
    assert render.message_link(555, 3) is None  # private chats have no message links


@settings(max_examples=200, deadline=None)
@given(prompt=st.text(max_size=3000), author=st.text(max_size=700))
def test_any_caption_fits_1024_utf16_units_and_keeps_the_clip_id(prompt: str, author: str) -> None:
    caption = render.clip_caption(f"{prompt}\n— {author} · 5 credits left today", "k3f9x2ab")
    assert render.utf16_len(caption) <= render.CAPTION_LIMIT
    assert caption.endswith("clip k3f9x2ab")


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=5000), limit=st.integers(min_value=-5, max_value=5000))
def test_cut_never_exceeds_its_limit(text: str, limit: int) -> None:
    out = render.cut(text, limit)
    assert render.utf16_len(out) <= max(0, limit)
    assert out == text or out.endswith("…") or out == ""
