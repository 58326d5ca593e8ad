"""What `--help` shows beyond argparse's own: each option's default, and the names of
the bundled models where an option takes one."""

from __future__ import annotations

import argparse

from engine.api.kinds import Family


class HelpWithDefaults(argparse.HelpFormatter):
    """--help names each option's default, and the bundled models where an option's help
    says {bundled:FAMILY,…} (read from the bundled records only when help is shown)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = _with_bundled_names(action.help or "")
        default = action.default
        if (
            action.option_strings
            and "default" not in text
            and default not in (None, "", False, [], argparse.SUPPRESS)
        ):
            text += " (default: %(default)s)"
        return text


def _with_bundled_names(text: str) -> str:
    start = text.find("{bundled:")
    if start < 0:
        return text
    end = text.index("}", start)
    families = [Family(f) for f in text[start + len("{bundled:") : end].split(",")]
    from engine.api.catalogue import bundled_models

    names = [e.ref.id for e in bundled_models() if e.ref.family in families]
    return text[:start] + ", ".join(names) + text[end + 1 :]


def give_every_option_help(parser: argparse.ArgumentParser) -> None:
    # argparse prints nothing (so no default) for an option without help text.
    for action in parser._actions:
        if action.help is None and action.option_strings:
            shown = action.default not in (None, "", False, [])
            action.help = "default: %(default)s" if shown else ""
