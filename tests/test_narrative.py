"""Replay sentences: the engine's terse event texts read as English (verbs agree, lists are named, no repeats)."""

from __future__ import annotations

import pytest

from analysis.narrative import event_line, shock_sentence

GROUPS = {"us_exit": None, "threat_rise": "EUROPE", "gov": "EUROPE", "veto_ukr": None, "deal": None}
EUROPE = ",".join(["ALB", "AUT", "BEL", "BGR", "BIH", "CHE", "CYP", "CZE", "DEU"])


@pytest.mark.parametrize(
    ("kind", "text", "tag", "sentence"),
    [
        ("withdraw", "us_exit: USA leave NATO", "shock", "USA leaves NATO (us_exit)"),
        ("withdraw", "us_exit: USA,CAN leave NATO", "shock", "USA and CAN leave NATO (us_exit)"),
        ("threat", f"threat_rise: threat perceived by {EUROPE} x1.2", "shock",
         "threat perceived by EUROPE (9 states) rises ×1.2 (threat_rise)"),
        ("government", f"gov: government change in {EUROPE}", "shock", "change of government in EUROPE (9 states) (gov)"),
        ("veto", "veto_ukr: HUN veto UKR for NATO", "shock", "HUN vetoes UKR for NATO (veto_ukr)"),
        ("veto", "veto_ukr: HUN lift veto on UKR for NATO", "shock", "HUN lifts its veto on UKR for NATO (veto_ukr)"),
        ("commitment", "us_exit: USA commitment to NATO -0.5", "shock", "commitment of USA to NATO falls by 0.5 (us_exit)"),
        ("spending", "GRC spending reaches 3% of GDP (3.02%)", "spending", "GRC's defence spending reaches 3% of GDP (3.02%)"),
        ("found", "EDU founded by FRA,DEU,POL", "founding", "EDU founded by FRA, DEU and POL"),
        ("join", "BIH joins EU", "accession", "BIH joins EU"),
        ("exit", "HUN leaves EU", "exit", "HUN leaves EU"),
    ],
)  # fmt: skip
def test_event_sentences(kind, text, tag, sentence):
    assert event_line(kind, text, GROUPS) == (tag, sentence)


def test_no_word_is_repeated_and_unknown_texts_pass_through():
    tag, sentence = event_line("spending", "GRC spending falls below 2% of GDP (1.98%)", GROUPS)
    assert (tag + " " + sentence).count("spending") == 2  # the tag and the sentence, not "spending GRC spending"
    assert shock_sentence("relation", "something new") == "something new"
    assert event_line("mystery", "deal: text", {}) == ("mystery", "deal: text")  # not a known shock key
