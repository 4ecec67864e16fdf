"""Facts the README and the guides state agree with the code (the drift issue 27 found)."""
from __future__ import annotations

import re

from docs_examples import ROOT

import varda


def test_readme_lists_every_pretrained_model():
    text = (ROOT / "README.md").read_text()
    line = text[text.index("**Pretrained models**"):].split("\n* **", 1)[0]
    listed = set(re.findall(r"`([a-z0-9-]+)`", line)) - {"varda.pretrained_names()"}
    assert listed == set(varda.pretrained_names())


def test_patch_defaults_agree_between_guide_help_and_code():
    from varda.cli.main import build_parser
    from varda.training.autoconfig import MAX_PATCH

    guide = (ROOT / "docs" / "user-guide" / "training.md").read_text()
    assert f"up to {MAX_PATCH} points a side" in guide
    train = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    assert f"up to {MAX_PATCH} points a side" in " ".join(train.split())


def test_references_name_the_icassp_paper_everywhere():
    from varda.provenance import REFERENCES

    readme = (ROOT / "README.md").read_text()
    assert "ICASSP 2021" in REFERENCES and "ICASSP 2021" in readme
    assert "JAMES" not in REFERENCES and "Journal of Advances" not in REFERENCES
