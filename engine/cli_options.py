"""`sample` flags from the families' sample options classes (engine.api.sample_options).

One group of flags per options class, titled with the families that use it, each flag
built from a dataclass field (its metadata["help"] is the help line). `sample --model X
--help` shows X's own group only, so a GAN's help offers no DDPM flags. Options of
another family given on the command line are ignored, as they always were.
"""

from __future__ import annotations

import argparse
import dataclasses

from engine.api import families
from engine.api.kinds import Family
from engine.api.sample_options import SampleOptions, scalar_fields


def add_sample_options(parser: argparse.ArgumentParser) -> None:
    """A group of flags for each options class the families' specs name."""
    groups = []
    for cls, users in _options_classes().items():
        group = parser.add_argument_group(f"{families.titles(users)} options")
        for field, kind in scalar_fields(cls):
            flag = "--" + field.name.replace("_", "-")  # --gibbs-steps, as every other flag
            if flag in parser._option_string_actions:
                continue  # two classes with one field: the flag is shared
            group.add_argument(
                flag,
                dest=field.name,
                type=kind,
                default=argparse.SUPPRESS,  # not given: the options class's own default
                help=_help(field),
            )
        groups.append((group, users))
    _replace_help(parser, groups)


def sample_options(args: argparse.Namespace, family: Family) -> SampleOptions:
    """The options of `family`'s class from the flags given."""
    cls = families.sample_options_of(family)
    given = vars(args)
    return cls(**{f.name: given[f.name] for f, _ in scalar_fields(cls) if f.name in given})


def _help(field: dataclasses.Field) -> str:
    text = field.metadata.get("help", "")
    if "default" in text or field.default is None:
        return text
    return f"{text} (default: {field.default})"


def _options_classes() -> dict[type[SampleOptions], list[Family]]:
    found: dict[type[SampleOptions], list[Family]] = {}
    for family in families.lab_families():
        cls = families.spec_of(family).sample_options
        if cls is not None:
            found.setdefault(cls, []).append(family)
    return found


class _FamilyHelp(argparse._HelpAction):
    """--help after --model: only that model's family's options are shown."""

    groups: list[tuple[argparse._ArgumentGroup, list[Family]]] = []

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        model = getattr(namespace, "model", None)
        if model and model != parser.get_default("model"):
            from engine.api.catalogue import family_of

            family = family_of(model)
            for group, users in self.groups:
                if family is not None and family not in users:
                    for action in group._group_actions:
                        action.help = argparse.SUPPRESS
        super().__call__(parser, namespace, values, option_string)


def _replace_help(parser: argparse.ArgumentParser, groups: list) -> None:
    # argparse made -h before the flags were known: give that action the family filter.
    old = parser._option_string_actions["--help"]
    old.__class__ = type("FamilyHelp", (_FamilyHelp,), {"groups": groups})
