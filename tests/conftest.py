"""Fixtures: pure settings, the tiny and broken sites on disk, and the sample
site built once per session."""
from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

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


def png(width: int = 8, height: int = 6, colour=(200, 30, 30), fmt: str = "PNG", **save) -> bytes:
    """A real picture of one colour, as bytes of `fmt`."""
    import io

    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(data, fmt, **save)
    return data.getvalue()


def made(page: str, stem: str) -> list[str]:
    """The addresses of the made sizes of a picture (images.py) a page refers to."""
    import re

    return sorted(set(re.findall(rf"{re.escape(stem)}-\d+w-[0-9a-f]{{10}}\.(?:jpg|png|webp|gif)", page)))


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


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls, self.ids, self.lang = [], set(), None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("href", "src") and v]
        for k, v in attrs:  # every candidate of a srcset, too
            if k == "srcset" and v:
                self.urls += [c.strip().split(" ")[0] for c in v.split(",") if c.strip()]
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "html":
            self.lang = a.get("lang")


def parse(path: Path) -> Links:
    p = Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def broken_links(out: Path, base_path: str = "/") -> list[tuple[str, str]]:
    """(page, link) for every link or image address on the site's pages that
    does not lead to a file (and anchor) of the site in `out`."""
    broken, ids = [], {}

    def anchors(page: Path) -> set[str]:
        if page not in ids:
            ids[page] = parse(page).ids
        return ids[page]

    for page in sorted(out.rglob("*.html")):
        links = parse(page)
        for url in links.urls:
            if url.startswith(("http://", "https://", "mailto:", "data:")):
                continue
            path, _, fragment = url.partition("#")
            path = unquote(path)
            if not path:
                target = page
            elif path.startswith(base_path):
                target = out / path[len(base_path):]
                target = target / "index.html" if path.endswith("/") else target
            else:
                broken.append((str(page.relative_to(out)), url))
                continue
            if not target.is_file() or (fragment and target.suffix == ".html" and fragment not in anchors(target)):
                broken.append((str(page.relative_to(out)), url))
    return broken
