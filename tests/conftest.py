"""Fixtures: pure settings, the tiny and broken sites on disk, and the sample
site built once per session."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.build import Options, build
from generator.config import parse_settings

ROOT = Path(__file__).resolve().parent.parent
SITES = Path(__file__).resolve().parent / "sites"


@pytest.fixture(scope="session")
def settings():
    value, problems = parse_settings('title = "测试"\ncity = "丽水市"\nbase_url = "https://example.org/"\n')
    assert problems == []
    return value


@pytest.fixture
def tiny(tmp_path) -> Path:
    """A writable copy of tests/sites/tiny."""
    dest = tmp_path / "content"
    shutil.copytree(SITES / "tiny", dest)
    return dest


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> Path:
    """The repository's sample site (content/), built once with --jobs 1."""
    out = tmp_path_factory.mktemp("sample") / "output"
    report = build(Options(content=ROOT / "content", out=out, jobs=1))
    assert report.written, [str(p) for p in report.problems]
    assert report.problems == [], [str(p) for p in report.problems]
    return out


def tree(path: Path) -> dict[str, bytes]:
    """Every file below path with its bytes, for comparing whole outputs."""
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


SITE_TOML = 'title = "测试站"\ncity = "丽水市"\nbase_url = "https://example.org/"\n'
ORG_CSV = ("county,county_code,township,township_code,branch,branch_code\n"
           "云和县,331125,浮云街道,331125001,中山村党支部,331125001001\n"
           "云和县,331125,浮云街道,331125001,长汀村党支部,331125001002\n")


def story(body: str = "正文。\n", **fields) -> str:
    """A valid story's text; `fields` override or add frontmatter lines (None removes one)."""
    head = {"title": "一个故事", "county": "云和县", "township": "浮云街道", "branch": "中山村党支部",
            "date": "2021-06-01", **fields}
    lines = "".join(f"{k}: {v}\n" for k, v in head.items() if v is not None)
    return f"---\n{lines}---\n\n{body}"


def make_site(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write a small site inline below root/content and return that folder.
    site.toml and org.csv (one county, one township, two branches) are added
    unless `files` names them; a value of None leaves a default file out."""
    content = root / "content"
    for name, data in {"site.toml": SITE_TOML, "org.csv": ORG_CSV, **files}.items():
        if data is None:
            continue
        path = content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    return content
