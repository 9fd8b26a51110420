import re

from conftest import ROOT
from generator.errors import CODES


def test_error_catalogue_in_docs_matches_the_code():
    text = (ROOT / "docs/errors.md").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| ([EW]\d{3}) \| (.+?) \|$", text, re.M))
    assert documented == CODES


def test_readme_starts_with_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1].strip().splitlines()
    assert first_block == ['python3 -m pip install -e . && python3 -m generator build',
                           'python3 -m pip install -e ".[test]" && python3 -m pytest']
    assert first_block[1] in (ROOT / ".ci/run").read_text().splitlines()
