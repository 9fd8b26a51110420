import re

from conftest import ROOT
from generator.errors import CODES


def test_error_catalogue_in_docs_matches_the_code():
    text = (ROOT / "docs/errors.md").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| ([EW]\d{3}) \| (.+?) \|$", text, re.M))
    assert documented == CODES
    # and below the table, a section per code: what it means and how to fix it
    sections = re.split(r"^### (?=[EW]\d{3} )", text, flags=re.M)[1:]
    explained = dict(re.match(r"([EW]\d{3}) (.+)", section).groups() for section in sections)
    assert explained == CODES and len(sections) == len(CODES)
    assert all("**怎么改**" in section for section in sections)


def test_readme_starts_with_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1].strip().splitlines()
    assert first_block == ['python3 -m pip install -e . && python3 -m generator build',
                           'python3 -m pip install -e ".[test]" && python3 -m pytest']
    assert first_block[1] in (ROOT / ".ci/run").read_text().splitlines()
