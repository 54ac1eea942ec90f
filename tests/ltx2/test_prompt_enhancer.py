"""The download-free prompt enhancer: a short chat prompt becomes subject, action, setting, camera, light and sound."""

from __future__ import annotations

import pytest

from model.ltx2.prompt_enhancer import LONG_ENOUGH_WORDS, enhance_prompt

pytestmark = pytest.mark.ltx2


def test_a_short_prompt_keeps_its_words_first_and_gains_every_slot_from_what_the_grammar_read():
    enhanced = enhance_prompt("two red rubber balls bounce off a wooden table at night, the camera pans, in the rain")

    assert enhanced.text.startswith("two red rubber balls bounce off a wooden table at night, the camera pans, in the")
    assert "The shot shows two red rubber balls near a wood table" in enhanced.details  # subject and setting
    assert "Each of the red rubber balls bounces off the surface and rebounds." in enhanced.details  # action
    assert "The camera pans smoothly to follow the action." in enhanced.details  # camera
    assert "Dim night lighting" in enhanced.details  # light
    assert "Sound: a clear impact sound on every bounce" in enhanced.details and "patter of rain" in enhanced.details


def test_words_the_grammar_does_not_know_still_get_neutral_slots():
    enhanced = enhance_prompt("a zorblax glimmers")

    assert enhanced.text.startswith("a zorblax glimmers. The shot shows the subject the prompt names")
    assert "A steady camera frames the subject at eye level." in enhanced.details
    assert "Soft, natural lighting" in enhanced.details and "Sound: ambient sound" in enhanced.details


def test_quoted_speech_becomes_a_voice_in_the_sound_slot():
    enhanced = enhance_prompt('a man shouts "one more time"')

    assert enhanced.text.startswith('a man shouts "one more time". ')
    assert 'Sound: a clear voice says "one more time"' in enhanced.details


def test_the_same_prompt_always_gives_the_same_text():
    assert enhance_prompt("a cube slides down a ramp").text == enhance_prompt("a  cube slides down a ramp ").text


def test_a_prompt_that_is_already_long_or_empty_is_left_as_written():
    long = " ".join(["word"] * LONG_ENOUGH_WORDS)
    assert enhance_prompt(long).text == long and not enhance_prompt(long).changed
    assert enhance_prompt("").text == "" and enhance_prompt("").details == ""
