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
