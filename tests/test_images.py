"""The image pipeline (images.py, pictures.py): every raster picture a page
shows is made anew with Pillow (upright, no metadata, sRGB, a few widths, WebP
plus JPEG/PNG), shown with <picture>, kept in a store between builds. Each
test draws its own pictures and writes its own small site inline."""
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image, ImageCms, ImageSequence
from PIL.PngImagePlugin import PngInfo

from conftest import ROOT, SITE_TOML, make_site, png, story, tree
from generator.cache import cache_path
from generator.build import Options, build
from generator.pictures import SIZES

RED, BLUE, GREY = (255, 0, 0), (0, 0, 255), (128, 128, 128)
PICTURE_EXT = {".jpg", ".jpeg", ".png", ".gif", ".webp"}
MADE = re.compile(r"-(\d+)w-([0-9a-f]{10})\.(webp|jpg|png|gif)$")  # width, hash, format
SUBPATH_TOML = SITE_TOML.replace("https://example.org/", "https://example.org/gsh/")


def run(content: Path, out: Path | None = None, **kw):
    return build(Options(content=content, out=out or content.parent / "out", **{"jobs": 1, **kw}))


def codes(report) -> list[tuple[str, str, int | None]]:
    """(code, file name, line) of every problem, sorted."""
    return sorted((p.code, Path(p.file).name if p.file else "", p.line) for p in report.problems)


def encode(image: Image.Image, fmt: str = "JPEG", **save) -> bytes:
    data = io.BytesIO()
    image.save(data, fmt, **save)
    return data.getvalue()


def jpeg(width: int, height: int, colour=(200, 30, 30)) -> bytes:
    return png(width, height, colour, "JPEG")


def animated_gif(width: int, height: int, **save) -> bytes:
    frames = [Image.new("RGB", (width, height), c) for c in (RED, (0, 255, 0), BLUE)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0, **save)


def made_files(out: Path, stem: str) -> dict[tuple[str, int], Path]:
    """{(extension, width in the name): file} of the made sizes of `stem` (e.g. "media/x")."""
    folder, name = (out / stem).parent, Path(stem).name
    found = (re.fullmatch(re.escape(name) + MADE.pattern, p.name) for p in folder.glob(f"{name}-*"))
    return {(m.group(3), int(m.group(1))): folder / m.group(0) for m in found if m}


def real_sizes(out: Path, stem: str) -> list[tuple[str, int, int]]:
    """(extension, width, height) of each made file of `stem`, checked against its name."""
    result = []
    for (ext, width), path in sorted(made_files(out, stem).items()):
        with Image.open(path) as image:
            assert image.width == width, path.name
            result.append((ext, *image.size))
    return result


def near(colour, expected, tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected))


def srcset(value: str) -> list[tuple[str, int]]:
    return [(url, int(w[:-1])) for url, w in (c.rsplit(" ", 1) for c in value.split(", "))]


def file_at(out: Path, url: str, base: str = "/") -> Path:
    assert url.startswith(base), url
    return out / unquote(url[len(base):])


def imgs(page: Path) -> list[tuple[dict, dict | None]]:
    """Every <img> of a page in order, with the attributes of the <source> of the
    <picture> it stands in ({} when it has none; None outside a <picture>)."""
    attrs = lambda text: {k: html.unescape(v) for k, v in re.findall(r'([\w:-]+)="([^"]*)"', text)}
    found = re.findall(r"(<picture>(?:<source ([^>]*)>)?)?<img ([^>]*)>", page.read_text(encoding="utf-8"))
    return [(attrs(img), attrs(source) if picture else None) for picture, source, img in found]


def meta(page: Path) -> dict[str, str]:
    return dict(re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)">', page.read_text(encoding="utf-8")))


# Pixels -------------------------------------------------------------------------------

def test_exif_orientation_is_applied(tmp_path):
    """Stored 40×20 (left red, right blue) with orientation 6 (turn 90° clockwise):
    shown 20 wide × 40 tall, the left half become the top."""
    exif, stored = Image.Exif(), Image.new("RGB", (40, 20), BLUE)
    exif[0x0112] = 6
    stored.paste(RED, (0, 0, 20, 20))
    content = make_site(tmp_path, {"stories/a.md": story("![转](/media/o.jpg)\n"),
                                   "media/o.jpg": encode(stored, exif=exif, quality=95)})
    out = tmp_path / "out"
    assert run(content).problems == []
    assert real_sizes(out, "media/o") == [("jpg", 20, 40), ("webp", 20, 40)]  # 20 < 480: one size
    for path in made_files(out, "media/o").values():
        with Image.open(path) as image:
            rgb = image.convert("RGB")
            assert near(rgb.getpixel((10, 8)), RED) and near(rgb.getpixel((10, 31)), BLUE), path.name
    [(img, _)] = imgs(out / "stories/a/index.html")
    assert (img["width"], img["height"]) == ("20", "40")


XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="SecretTool"/>'
       b'</rdf:RDF></x:xmpmeta>')
# Keys Pillow reports of a picture without metadata: JFIF/Adobe headers, WebP's canvas
# defaults, PNG/GIF transparency and a GIF's version, timing and NETSCAPE2.0 looping.
ACCEPTABLE_INFO = {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "progressive", "progression",
                   "adobe", "adobe_transform", "background", "loop", "duration", "transparency", "version",
                   "extension", "timestamp"}
SECRETS = [b"Exif\x00\x00", b"http://ns.adobe.com/xap/1.0/", b"Photoshop 3.0", b"SecretComment", b"SecretCamCo",
           b"SecretAuthor", b"SecretTool", b"SecretCopyright"]


def with_iptc(data: bytes) -> bytes:
    """A JPEG with an APP13 "Photoshop 3.0" segment (IPTC copyright 2:116) after its SOI."""
    iptc = b"\x1c\x02\x74" + len(b"SecretCopyright").to_bytes(2, "big") + b"SecretCopyright"
    payload = b"Photoshop 3.0\x00" + b"8BIM\x04\x04\x00\x00" + len(iptc).to_bytes(4, "big") + iptc
    return data[:2] + b"\xff\xed" + (len(payload) + 2).to_bytes(2, "big") + payload + data[2:]


def test_no_metadata_is_left_in_any_picture_of_the_output(tmp_path):
    """EXIF (camera, date, GPS), XMP, IPTC, comments, text chunks and ICC profiles
    of JPEG, PNG, WebP and GIF sources, shown or only lying in media/: none is published."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0132] = "SecretCamCo", "2020:01:02 03:04:05"  # Make, DateTime
    exif.get_ifd(0x8825).update({1: "N", 2: (28.0, 27.0, 5.5)})  # GPS: latitude
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    text = PngInfo()
    text.add_text("Author", "SecretAuthor")
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    red = Image.new("RGB", (16, 16), RED)
    sources = {
        "j.jpg": with_iptc(encode(red, exif=exif, xmp=XMP, comment=b"SecretComment", icc_profile=icc)),
        "p.png": encode(red, "PNG", pnginfo=text, exif=exif, icc_profile=icc),
        "w.webp": encode(red, "WEBP", exif=exif, xmp=XMP, icc_profile=icc),
        "g.gif": animated_gif(12, 10, comment=b"SecretComment"),
    }
    with Image.open(io.BytesIO(sources["j.jpg"])) as check:  # the sources do carry what must go
        assert {"exif", "xmp", "comment", "icc_profile", "photoshop"} <= set(check.info)
    body = "".join(f"![{n}](/media/{n})\n\n" for n in sources)
    content = make_site(tmp_path, {"stories/a.md": story(body), **{f"media/{n}": d for n, d in sources.items()},
                                   **{f"media/unused-{n}": d for n, d in sources.items()}})
    out = tmp_path / "out"
    assert run(content).problems == []
    published = [p for p in out.rglob("*") if p.suffix.lower() in PICTURE_EXT]
    # 4 shown × 2 files (WebP + fallback; the GIF alone) = 7, and the 4 unused at their own names
    assert len(published) == 7 + 4
    left = []  # (file, what of the source it still carries)
    for path in sorted(published):
        with Image.open(path) as image:
            left += [(path.name, f"EXIF {tag:#x}") for tag in image.getexif()]
            left += [(path.name, key) for key in sorted(set(image.info) - ACCEPTABLE_INFO)]
        left += [(path.name, secret) for secret in SECRETS if secret in path.read_bytes()]
    assert left == []


# Sizes --------------------------------------------------------------------------------

def test_sizes_are_the_widths_below_the_picture_and_its_own_capped(tmp_path):
    """2000×1000 → 480, 960, 1600; 700×350 → 480, 700; 300×200 → 300 alone; with
    `widths = [100, 200]` a 150-wide picture → 100 and 150. Never enlarged."""
    content = make_site(tmp_path / "a", {
        "stories/a.md": story("![大](/media/big.jpg)\n\n![中](/media/mid.jpg)\n\n![小](/media/small.jpg)\n"),
        "media/big.jpg": jpeg(2000, 1000), "media/mid.jpg": jpeg(700, 350), "media/small.jpg": jpeg(300, 200)})
    assert run(content).problems == []
    out = content.parent / "out"
    both = lambda sizes: sorted((ext, w, h) for w, h in sizes for ext in ("jpg", "webp"))
    assert real_sizes(out, "media/big") == both([(480, 240), (960, 480), (1600, 800)])  # 1000·480/2000 = 240
    assert real_sizes(out, "media/mid") == both([(480, 240), (700, 350)])
    assert real_sizes(out, "media/small") == both([(300, 200)])
    shown = [(img["alt"], img["width"], img["height"]) for img, _ in imgs(out / "stories/a/index.html")]
    assert shown == [("大", "1600", "800"), ("中", "700", "350"), ("小", "300", "200")]

    content = make_site(tmp_path / "b", {"site.toml": SITE_TOML + "[images]\nwidths = [100, 200]\n",
                                         "stories/a.md": story("![图](/media/x.png)\n"), "media/x.png": png(150, 90)})
    assert run(content).problems == []
    out = content.parent / "out"
    assert real_sizes(out, "media/x") == both([(100, 60), (150, 90)])  # 90·100/150 = 60
    [(img, _)] = imgs(out / "stories/a/index.html")
    assert (img["width"], img["height"]) == ("150", "90")


# Markup -------------------------------------------------------------------------------

def test_picture_markup_sizes_loading_and_dimensions(tmp_path):
    """<picture><source webp srcset sizes><img src=second smallest JPEG srcset sizes
    width height alt decoding>; the first picture of a page loads with priority,
    every other lazily; a card uses the card sizes; every <img> of the site has
    width and height; every address in src and srcset is a file."""
    content = make_site(tmp_path, {
        "stories/a.md": story("![第一张](/media/x.jpg)\n\n段落。\n\n![第二张](y.png)\n",
                              cover="/media/c.jpg", cover_alt="封面图"),
        "stories/y.png": png(300, 200), "media/x.jpg": jpeg(2000, 1000), "media/c.jpg": jpeg(700, 350)})
    out = tmp_path / "out"
    assert run(content).problems == []
    shown = imgs(out / "stories/a/index.html")
    assert [img["alt"] for img, _ in shown] == ["封面图", "第一张", "第二张"]
    for img, source in shown:
        assert source["type"] == "image/webp" and source["sizes"] == SIZES["body"] == SIZES["cover"]
        webp, jpg = srcset(source["srcset"]), srcset(img.get("srcset", f'{img["src"]} {img["width"]}w'))
        assert [w for _, w in webp] == [w for _, w in jpg] and jpg[-1][1] == int(img["width"])
        assert all(u.endswith(".webp") for u, _ in webp) and all(u.endswith(".jpg") for u, _ in jpg)
        assert img["src"] == jpg[min(1, len(jpg) - 1)][0]  # 960 of 480/960/1600; 700 of 480/700
        assert img.get("sizes", SIZES["body"]) == SIZES["body"] and img["decoding"] == "async"
        for url in [img["src"]] + [u for u, _ in webp + jpg]:
            assert file_at(out, url).is_file(), url
    assert [(img.get("fetchpriority"), img.get("loading")) for img, _ in shown] == \
        [("high", None), (None, "lazy"), (None, "lazy")]
    assert shown[2][0]["src"].startswith("/stories/a/y-300w-")  # a picture beside the story: beside its page
    [(card, source)] = imgs(out / "index.html")
    assert card["sizes"] == source["sizes"] == SIZES["card"] != SIZES["body"] and card["alt"] == ""
    for page in out.rglob("*.html"):
        for n, (img, _) in enumerate(imgs(page)):
            assert img.get("width") and img.get("height"), (page, img)
            assert (img.get("fetchpriority"), img.get("loading")) == (("high", None) if n == 0 else (None, "lazy"))


def test_transparency_keeps_png_fallbacks(tmp_path):
    """A PNG with transparent pixels gets PNG fallbacks with alpha; one without
    gets JPEG, and so does an RGBA screenshot whose pixels are all opaque."""
    clear = Image.new("RGBA", (20, 10), (255, 0, 0, 255))
    clear.paste((0, 0, 0, 0), (0, 0, 10, 10))
    opaque = Image.new("RGBA", (20, 10), (0, 0, 255, 255))
    content = make_site(tmp_path, {
        "stories/a.md": story("![透明](/media/t.png)\n\n![不透明](/media/o.png)\n\n![截图](/media/s.png)\n"),
        "media/t.png": encode(clear, "PNG"), "media/o.png": png(20, 10), "media/s.png": encode(opaque, "PNG")})
    out = tmp_path / "out"
    assert run(content).problems == []
    assert sorted(made_files(out, "media/t")) == [("png", 20), ("webp", 20)]
    assert sorted(made_files(out, "media/o")) == [("jpg", 20), ("webp", 20)]
    assert sorted(made_files(out, "media/s")) == [("jpg", 20), ("webp", 20)]
    cache_path(out).unlink()  # only the store is left: its manifest says JPEG, and the JPEGs are there
    assert run(content).images == 0
    for path in made_files(out, "media/t").values():
        with Image.open(path) as image:
            assert image.mode == "RGBA" and image.getchannel("A").getextrema() == (0, 255), path.name


# The store ----------------------------------------------------------------------------

def without_marker(out: Path) -> dict[str, bytes]:
    return {k: v for k, v in tree(out).items() if k != ".gushihui-output"}


def touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_pictures_come_from_the_store_until_the_settings_change(tmp_path):
    """An edit of a story's text makes no picture again; nor does a deleted output
    (the store is beside it); a new quality makes every one again under new names."""
    content = make_site(tmp_path, {"stories/a.md": story("![一](/media/x.jpg)\n"), "media/x.jpg": jpeg(30, 20),
                                   "stories/b.md": story("![二](/media/y.png)\n", title="另一个"),
                                   "media/y.png": png(30, 20)})
    out = tmp_path / "out"
    assert run(content).images == 2
    (content / "stories/a.md").write_text(story("新的一段。\n\n![一](/media/x.jpg)\n"), encoding="utf-8")
    touch_later(content / "stories/a.md")
    second = run(content)
    assert second.written and second.images == 0
    assert "新的一段" in (out / "stories/a/index.html").read_text(encoding="utf-8")
    before = without_marker(out)
    shutil.rmtree(out)
    third = run(content)
    assert third.written and third.images == 0 and without_marker(out) == before
    (content / "site.toml").write_text(SITE_TOML + "[images]\nquality = 50\n", encoding="utf-8")
    fourth = run(content)
    assert fourth.written and fourth.images == 2
    old = {k for k in before if MADE.search(k)}
    new = {k for k in without_marker(out) if MADE.search(k)}
    assert len(old) == len(new) == 4 and not old & new  # 2 pictures × (WebP + fallback), all renamed


def test_a_picture_no_longer_used_leaves_the_output_and_the_store(tmp_path):
    """A story edited to stop showing a picture: its made files are removed from
    the output (counted in report.removed) and pruned from the store."""
    content = make_site(tmp_path, {"stories/a.md": story("![一](x.jpg)\n\n![二](/media/y.jpg)\n"),
                                   "stories/x.jpg": jpeg(20, 10), "media/y.jpg": jpeg(20, 10, BLUE)})
    out, store = tmp_path / "out", tmp_path / ".gushihui-cache" / "out.images"
    assert run(content).problems == []
    gone = made_files(out, "stories/a/x")
    assert len(gone) == 2  # 20 wide: one size, WebP and JPEG
    [key] = {MADE.search(p.name).group(2) for p in gone.values()}  # the store's names begin with it
    assert any(p.name.startswith(key) for p in store.iterdir())
    (content / "stories/a.md").write_text(story("![二](/media/y.jpg)\n"), encoding="utf-8")
    touch_later(content / "stories/a.md")
    report = run(content)
    assert report.written and report.removed == 2
    assert made_files(out, "stories/a/x") == {} and len(made_files(out, "media/y")) == 2
    assert not any(p.name.startswith(key) for p in store.iterdir())
    assert store.is_dir() and any(store.iterdir())  # y's files stay


# Sharing and feeds --------------------------------------------------------------------

def test_open_graph_and_twitter_tags_show_the_largest_cover(tmp_path):
    """og:image is the cover's largest JPEG as an absolute address, with its size;
    a story without a cover has a plain summary card and no og:image."""
    content = make_site(tmp_path, {"site.toml": SUBPATH_TOML, "media/c.jpg": jpeg(2000, 1000),
                                   "stories/a.md": story(cover="/media/c.jpg", cover_alt="封面"),
                                   "stories/b.md": story(title="没有封面")})
    out = tmp_path / "out"
    assert run(content).problems == []
    largest = made_files(out, "media/c")[("jpg", 1600)]  # 2000 wide: 480, 960 and 1600
    tags = meta(out / "stories/a/index.html")
    url = f"https://example.org/gsh/media/{largest.name}"
    assert tags["og:image"] == tags["twitter:image"] == url
    assert (tags["og:image:width"], tags["og:image:height"], tags["og:image:type"]) == ("1600", "800", "image/jpeg")
    assert tags["twitter:card"] == "summary_large_image" and tags["og:image:alt"] == "封面"
    plain = meta(out / "stories/b/index.html")
    assert plain["twitter:card"] == "summary" and "og:image" not in plain and "twitter:image" not in plain


def test_feed_pictures_have_absolute_addresses_and_no_marker_is_left(tmp_path):
    """A picture in a story body is in feed.xml with https:// addresses of files of
    the site; no internal marker (base path, loading) is left in any output file."""
    content = make_site(tmp_path, {"site.toml": SUBPATH_TOML, "stories/a.md": story("![图](/media/x.jpg)\n"),
                                   "media/x.jpg": jpeg(30, 20)})
    out = tmp_path / "out"
    assert run(content).problems == []
    ns = {"a": "http://www.w3.org/2005/Atom"}
    [entry] = [e.text for e in ET.parse(out / "feed.xml").getroot().findall("a:entry/a:content", ns)]
    urls = re.findall(r' src="([^"]+)"', entry) + [u for s in re.findall(r'srcset="([^"]+)"', entry)
                                                   for u, _ in srcset(s)]
    assert len(urls) == 2  # 30 wide, one size: <img src> (no srcset of one) and the one WebP candidate
    for url in urls:
        assert file_at(out, url, "https://example.org/gsh/").is_file(), url
    for name, data in tree(out).items():
        assert b"/.gushihui-base./" not in data and b"data-gushihui-loading" not in data, name


# Bad pictures -------------------------------------------------------------------------

def truncated_jpeg() -> bytes:
    image = Image.frombytes("RGB", (64, 64), bytes(range(256)) * 48)  # 64·64·3 = 12288 = 256·48
    data = encode(image, quality=95)
    return data[:len(data) // 2]


# story(body) puts the frontmatter on lines 1–7 and the body from line 9: the picture is on line 11.
BODY = "第一段。\n\n![坏图]({})\n"


@pytest.mark.parametrize("ref, files, code", [
    ("/media/missing.jpg", {}, "E312"),
    ("/media/text.jpg", {"media/text.jpg": "这不是图片"}, "E340"),
    ("/media/half.jpg", {"media/half.jpg": truncated_jpeg()}, "E341"),
    ("/media/big.png", {"media/big.png": png(20, 10), "site.toml": SITE_TOML + "[images]\nmax_pixels = 100\n"},
     "E342"),  # 20·10 = 200 > 100
    ("../../outside.jpg", {}, "E311"),  # from stories/: content/../outside.jpg
], ids=["missing", "not-a-picture", "truncated", "too-many-pixels", "outside"])
def test_a_bad_picture_names_the_story_and_line(tmp_path, ref, files, code):
    """Each bad picture is an error at the story's line of the reference; nothing is written."""
    (tmp_path / "outside.jpg").write_bytes(jpeg(8, 8))
    content = make_site(tmp_path, {"stories/a.md": story(BODY.format(ref)), **files})
    report = run(content)
    assert codes(report) == [(code, "a.md", 11)]
    assert not report.written


def test_a_bad_picture_no_page_uses_is_a_warning(tmp_path):
    """A broken picture in media/ that no page shows: W344, left out, the site written."""
    content = make_site(tmp_path, {"stories/a.md": story(), "media/bad.jpg": truncated_jpeg()})
    report = run(content)
    assert codes(report) == [("W344", "bad.jpg", None)]
    assert report.written and not (tmp_path / "out/media/bad.jpg").exists()


def test_keep_going_shows_the_alt_text_and_drops_a_broken_cover(tmp_path):
    """With --keep-going a story with a broken body picture and cover is published:
    the alt text stands for the picture; the cover (and its og:image) is gone."""
    content = make_site(tmp_path, {"stories/a.md": story(BODY.format("/media/text.jpg"),
                                                         cover="/media/half.jpg", cover_alt="封面"),
                                   "media/text.jpg": "这不是图片", "media/half.jpg": truncated_jpeg()})
    report = run(content, keep_going=True)
    # cover: line 7; frontmatter then ends on line 9 and the body starts on 11: the picture on 13
    assert codes(report) == [("E340", "a.md", 13), ("E341", "a.md", 7)]
    page = tmp_path / "out/stories/a/index.html"
    assert report.written and imgs(page) == []
    assert '<span class="missing-picture">坏图</span>' in page.read_text(encoding="utf-8")
    assert "og:image" not in meta(page) and meta(page)["twitter:card"] == "summary"


# Formats ------------------------------------------------------------------------------

def heic() -> bytes:
    import pillow_heif  # a dependency of Gushihui (pyproject.toml)

    pillow_heif.register_heif_opener()
    return encode(Image.new("RGB", (32, 16), RED), "HEIF")


@pytest.mark.parametrize("name, source, colour, tolerance", [
    ("p.heic", heic, RED, 40),  # an iPhone photo, read through pillow-heif
    ("c.jpg", lambda: encode(Image.new("CMYK", (32, 16), (0, 255, 255, 0))), RED, 40),  # C 0 M 255 Y 255 K 0: red
    ("g.png", lambda: encode(Image.new("I;16", (32, 16), 32768), "PNG"), GREY, 3),  # 32768 / 256 = 128, not 255
], ids=["heic", "cmyk-jpeg", "16-bit-grey-png"])
def test_unusual_sources_become_8_bit_rgb_webp_and_jpeg(tmp_path, name, source, colour, tolerance):
    """HEIC, CMYK JPEG and 16-bit grey PNG are published as RGB WebP + JPEG of the same colour."""
    content = make_site(tmp_path, {"stories/a.md": story(f"![图](/media/{name})\n"), f"media/{name}": source()})
    out, stem = tmp_path / "out", f"media/{Path(name).stem}"
    assert run(content).problems == []
    assert real_sizes(out, stem) == [("jpg", 32, 16), ("webp", 32, 16)]
    for path in made_files(out, stem).values():
        with Image.open(path) as image:
            assert image.mode == "RGB" and near(image.getpixel((16, 8)), colour, tolerance), path.name


def test_heic_without_pillow_heif_is_e343(tmp_path):
    """Where pillow-heif cannot be imported, a HEIC picture is E343 at the story's line."""
    content = make_site(tmp_path, {"stories/a.md": story(BODY.format("/media/p.heic")), "media/p.heic": heic()})
    script = ("import json, sys\nsys.modules['pillow_heif'] = None\nfrom pathlib import Path\n"
              "from generator.build import Options, build\n"
              "r = build(Options(content=Path(sys.argv[1]), out=Path(sys.argv[2]), jobs=1))\n"
              "print(json.dumps([[p.code, Path(p.file).name, p.line] for p in r.problems]))\n")
    done = subprocess.run([sys.executable, "-c", script, str(content), str(tmp_path / "out")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [["E343", "a.md", 11]]


def test_animated_gif_stays_one_animated_gif_in_a_plain_img(tmp_path):
    """An animated GIF of 3 frames is published as one animated GIF with its 3
    frames at its own size (520 wide: wider than the 480 of the default widths,
    yet not resized), shown as a plain <img> without <picture> or srcset."""
    content = make_site(tmp_path, {"stories/a.md": story("![动图](/media/g.gif)\n"),
                                   "media/g.gif": animated_gif(520, 20)})
    out = tmp_path / "out"
    assert run(content).problems == []
    [((ext, width), path)] = made_files(out, "media/g").items()
    with Image.open(path) as image:
        assert (ext, width, image.size, image.n_frames) == ("gif", 520, (520, 20), 3)
        colours = [frame.convert("RGB").getpixel((260, 10)) for frame in ImageSequence.Iterator(image)]
    assert colours == [RED, (0, 255, 0), BLUE]
    [(img, source)] = imgs(out / "stories/a/index.html")
    assert source is None and "srcset" not in img
    assert (img["src"], img["width"], img["height"]) == (f"/media/{path.name}", "520", "20")


# Building -----------------------------------------------------------------------------

def test_parallel_and_uncached_builds_give_the_same_site(tmp_path):
    """Six pictures built with 2 workers and no cache, and with 1 and a cache: the
    same files; the uncached build leaves no store and no temporary folder."""
    pictures = {"a.jpg": jpeg(40, 30), "b.jpg": jpeg(600, 300, BLUE), "c.png": png(30, 30),
                "d.webp": png(50, 20, fmt="WEBP"), "e.gif": animated_gif(12, 10),
                "f.png": encode(Image.new("RGBA", (20, 20), (0, 0, 255, 100)), "PNG")}
    body = "".join(f"![{n}](/media/{n})\n\n" for n in pictures)
    content = make_site(tmp_path, {"stories/a.md": story(body), **{f"media/{n}": d for n, d in pictures.items()}})
    one, two = tmp_path / "one" / "out", tmp_path / "two" / "out"
    assert run(content, one).problems == []
    report = run(content, two, use_cache=False, jobs=2)
    assert report.problems == [] and report.images == 6
    assert without_marker(one) == without_marker(two)
    assert not (tmp_path / "two" / ".gushihui-cache").exists()
    assert [p for p in (tmp_path / "two").rglob("*") if ".tmp-" in p.name] == []


def test_a_link_to_a_picture_leads_to_its_largest_size(tmp_path):
    """[大图](/media/x.jpg) leads to the largest JPEG made of it (1600 of a 2000-wide photo)."""
    content = make_site(tmp_path, {"stories/a.md": story("[大图](/media/x.jpg)\n"), "media/x.jpg": jpeg(2000, 1000)})
    out = tmp_path / "out"
    assert run(content).problems == []
    [href] = re.findall(r'<a href="([^"]*)">大图</a>', (out / "stories/a/index.html").read_text(encoding="utf-8"))
    assert file_at(out, href) == made_files(out, "media/x")[("jpg", 1600)]
