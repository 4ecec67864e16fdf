"""Collect the fenced examples of README.md and docs/**/*.md, and the files they name.

A block is skipped only when the line just before its fence (blank lines allowed) is an HTML
comment ``<!-- docs-test: skip REASON -->`` (invisible on GitHub and in the built site); keep
that list short: installs, hours of training, remote clusters, downloads.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>python|bash|sh|shell)\s*$")
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\b(?P<why>.*?)-->")


@dataclass(frozen=True)
class Block:
    page: str          # path relative to the repository root
    line: int          # line of the opening fence (1-based)
    lang: str          # "python" or "bash"
    code: str
    skip: "str | None"  # the reason, for a skipped block


def pages() -> list[Path]:
    """README.md and every Markdown page of docs/ (not the build, not the included CHANGELOG)."""
    docs = sorted(p for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts)
    return [ROOT / "README.md", *docs]


def blocks(path: Path) -> list[Block]:
    """The fenced python and shell blocks of one page, dedented, with their skip marks."""
    lines = path.read_text().splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, start = len(m["indent"]), i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        mark = SKIP.search(lines[j]) if j >= 0 else None
        lang = "python" if m["lang"] == "python" else "bash"
        out.append(Block(str(path.relative_to(ROOT)), start + 1, lang, "\n".join(body) + "\n",
                         mark["why"].strip() if mark else None))
        i += 1
    return out


def all_blocks() -> list[Block]:
    return [b for p in pages() for b in blocks(p)]
