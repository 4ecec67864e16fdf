"""``varda`` entry point. Each sub-command is a module of this package exposing
``add_parser(subparsers)`` (which registers the command and sets ``func``)."""
from __future__ import annotations

import argparse
import importlib
import sys

from varda._version import __version__
from varda.errors import VardaError

#: sub-command modules, in the order ``varda --help`` lists them
COMMANDS = ("demo", "train", "fill")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="varda",
        description="Learned variational solvers (4DVarNet-style) for gap-filling geoscience fields.",
        epilog="Run 'varda COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"varda {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"varda.cli.{name}").add_parser(sub)
    return parser


def main(argv: "list[str] | None" = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except VardaError as e:
        print(f"varda {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
