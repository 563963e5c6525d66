"""The events of one replicate as sentences (`sim replay`): a tag for what happened and a sentence saying it.

The engine logs events as terse texts ("us_exit: USA leave NATO", "GRC spending reaches 3% of GDP
(3.02%)"); this module rewrites them for a reader, with the verb agreeing with its subject ("USA
leaves NATO"), long lists of states named by the scenario's group ("EUROPE (32 states)") and the
kind of event in its own column instead of repeated in the text. The log itself is unchanged.
"""

from __future__ import annotations

import re

#: the tag shown for each kind of event (engine events and shock types)
TAGS = {
    "apply": "application",
    "candidate": "candidate",
    "rejected": "rejection",
    "join": "accession",
    "exit": "exit",
    "found": "founding",
    "spending": "spending",
    "veto": "veto",
}
LONG_LIST = 6  # a list of more states than this is named by its group


def _states(codes: str, group: str | None) -> tuple[str, bool]:
    """A comma list of state codes for a sentence, and whether it is one state."""
    items = [c for c in codes.split(",") if c]
    if len(items) > LONG_LIST:
        return (f"{group} ({len(items)} states)" if group else f"{len(items)} states"), False
    if len(items) <= 1:
        return codes, True
    return ", ".join(items[:-1]) + " and " + items[-1], False


def _amount(change: str, up: str = "rises", down: str = "falls") -> str:
    value = float(change)
    return f"{up} by {abs(value):g}" if value >= 0 else f"{down} by {abs(value):g}"


def _factor(text: str, up: str = "rises", down: str = "falls") -> str:
    value = float(text)
    return f"{up} ×{value:g}" if value >= 1 else f"{down} ×{value:g}"


def shock_sentence(kind: str, what: str, group: str | None = None) -> str:
    """The sentence of a shock's event text (the part after ``<key>: ``), or the text if it has no rule."""

    def one(codes: str, singular: str, plural: str) -> tuple[str, str]:
        names, single = _states(codes, group)
        return names, singular if single else plural

    rules: list[tuple[str, object]] = [
        (r"^(?P<t>\S+) leave (?P<b>\S+)$", lambda m: "{} {} {}".format(*one(m["t"], "leaves", "leave"), m["b"])),
        (r"^(?P<t>\S+) join (?P<b>\S+)$", lambda m: "{} {} {}".format(*one(m["t"], "joins", "join"), m["b"])),
        (
            r"^(?P<t>\S+) expelled from (?P<b>\S+)$",
            lambda m: "{} {} expelled from {}".format(*one(m["t"], "is", "are"), m["b"]),
        ),
        (r"^(?P<b>\S+) founded by (?P<t>\S+)$", lambda m: f"{m['b']} founded by {_states(m['t'], group)[0]}"),
        (
            r"^(?P<t>\S+) commitment to (?P<b>\S+) = (?P<v>\S+)$",
            lambda m: f"commitment of {_states(m['t'], group)[0]} to {m['b']} set to {float(m['v']):g}",
        ),
        (
            r"^(?P<t>\S+) commitment to (?P<b>\S+) (?P<c>[+-]\S+)$",
            lambda m: f"commitment of {_states(m['t'], group)[0]} to {m['b']} {_amount(m['c'])}",
        ),
        (
            r"^affinity (?P<t>\S+) <-> (?P<o>\S+) (?P<c>[+-]\S+)$",
            lambda m: f"affinity between {_states(m['t'], group)[0]} and {_states(m['o'], None)[0]} {_amount(m['c'])}",
        ),
        (
            r"^(?P<t>\S+) spending target x(?P<f>\S+)$",
            lambda m: "{} {} spending targets ×{:g}".format(
                *one(m["t"], "multiplies its", "multiply their"), float(m["f"])
            ),
        ),
        (
            r"^(?P<t>\S+) spending target (?P<p>\S+)% of GDP$",
            lambda m: "{} {} spending target to {}% of GDP".format(*one(m["t"], "sets its", "set their"), m["p"]),
        ),
        (
            r"^(?P<t>\S+) mobilise \(power x(?P<f>\S+)\)$",
            lambda m: "{} {} (power ×{:g})".format(*one(m["t"], "mobilises", "mobilise"), float(m["f"])),
        ),
        (
            r"^threat perceived by (?P<t>\S+) x(?P<f>\S+)$",
            lambda m: f"threat perceived by {_states(m['t'], group)[0]} {_factor(m['f'])}",
        ),
        (r"^government change in (?P<t>\S+)$", lambda m: f"change of government in {_states(m['t'], group)[0]}"),
        (
            r"^(?P<t>\S+) lift veto on (?P<o>.+) for (?P<b>\S+)$",
            lambda m: "{} {} veto on {} for {}".format(
                *one(m["t"], "lifts its", "lift their"), _states(m["o"], None)[0], m["b"]
            ),
        ),
        (
            r"^(?P<t>\S+) veto (?P<o>.+) for (?P<b>\S+)$",
            lambda m: "{} {} {} for {}".format(*one(m["t"], "vetoes", "veto"), _states(m["o"], None)[0], m["b"]),
        ),
        (r"^(?P<b>\S+) integration (?P<c>[+-]\S+)$", lambda m: f"{m['b']} integration {_amount(m['c'])}"),
        (
            r"^territorial conflict of (?P<t>\S+) settled$",
            lambda m: f"territorial conflict of {_states(m['t'], group)[0]} settled",
        ),
        (r"^(?P<a>\S+) attacks (?P<t>\S+)$", lambda m: f"{m['a']} attacks {_states(m['t'], group)[0]}"),
    ]
    for pattern, render in rules:
        match = re.match(pattern, what)
        if match:
            try:
                return render(match)  # type: ignore[operator]
            except ValueError:  # a number the rule cannot read: the text as logged
                return what
    return what


def event_line(kind: str, text: str, shock_groups: dict[str, str | None] | None = None) -> tuple[str, str]:
    """(tag, sentence) of an engine event ``(kind, text)``.

    ``shock_groups`` maps the scenario's shock keys to the group their target names (e.g. "EUROPE"),
    or None; a text ``"<key>: ..."`` of a key in it is a shock.
    """
    groups = shock_groups or {}
    key, sep, what = text.partition(": ")
    if sep and key in groups:
        return "shock", f"{shock_sentence(kind, what, groups[key])} ({key})"
    if kind == "spending":
        match = re.match(r"^(?P<s>\S+) spending (?P<rest>.+)$", text)
        if match:
            return TAGS["spending"], f"{match['s']}'s defence spending {match['rest']}"
    if kind == "found":
        match = re.match(r"^(?P<b>\S+) founded by (?P<t>\S+)$", text)
        if match:
            return TAGS["found"], f"{match['b']} founded by {_states(match['t'], None)[0]}"
    return TAGS.get(kind, kind), text


def shock_groups(scenario) -> dict[str, str | None]:
    """Shock key -> the group its target names (a single name that is not a state code), from a Scenario."""
    out: dict[str, str | None] = {}
    for k, shock in enumerate(scenario.shocks):
        target = getattr(shock, "target", None)
        group = target if isinstance(target, str) and not re.fullmatch(r"[A-Z]{3}", target) else None
        out[shock.name or f"#{k}"] = group
    return out
