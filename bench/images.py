#!/usr/bin/env python3
"""Benchmark of image processing: Gushihui against Hugo on the same 12-megapixel photos.

    python3 bench/images.py                       # 200 photos, 3 runs each, medians
    python3 bench/images.py --runs 1 --photos 20 --no-hugo
    python3 bench/images.py --repo /tmp/other     # time another checkout of Gushihui

Makes once, in --work (default /tmp/gushihui-bench/images), photos of 4000×3000
or 3000×4000 (JPEG q90, noise and shapes, fake GPS EXIF; every sixth stored
sideways with EXIF orientation 6), then a Gushihui site with one story per photo
(the photo is its cover) and a Hugo twin (a page bundle per photo, whose layout
makes 480, 960 and 1600 px wide WebP and JPEG at q80, auto-oriented). Each of
the 6 outputs per photo is the same work Gushihui does for a cover.

Times, each tool first in turn: cold build (no output, no cache: Gushihui's
.gushihui-cache, Hugo's resources/ and a fresh --cacheDir), no-change rebuild,
rebuild after editing one story. Prints a Markdown table of medians (min–max),
then the images each produced: count, bytes, widths, upright, metadata left.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import REPO, clean, edit, hugo_binary, timed  # bench/run.py

COUNTIES = {"莲都区": ["紫金街道", "碧湖镇", "大港头镇", "雅溪镇", "老竹镇"],
            "云和县": ["浮云街道", "紧水滩镇", "崇头镇", "石塘镇", "赤石乡"],
            "青田县": ["鹤城街道", "方山乡", "温溪镇", "船寮镇", "仁庄镇"],
            "遂昌县": ["妙高街道", "王村口镇", "湖山乡", "焦滩乡", "大柘镇"]}
VILLAGES = ["中山", "下河", "岩头", "新合", "东门", "桥东", "水南", "城东", "黄田", "白岩", "石塘", "竹口", "龙现",
            "安仁", "大港"]
SIZES = [f"{w}x {fmt} q80" for fmt in ("webp", "jpg") for w in (480, 960, 1600)]
HUGO_TOML = """baseURL = "https://example.org/"
languageCode = "zh-CN"
title = "图片测试"
disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]
"""
# AutoOrient and the resize in one filter chain: no full-size intermediate is encoded.
HUGO_SINGLE = """{{ $img := .Resources.GetMatch "photo.jpg" }}<h1>{{ .Title }}</h1>{{ .Content }}
{{ range slice SIZES }}{{ with images.Filter (slice images.AutoOrient (images.Process (printf "resize %s" .))) $img }}
<img src="{{ .RelPermalink }}" width="{{ .Width }}" height="{{ .Height }}" alt="">{{ end }}{{ end }}
""".replace("SIZES", " ".join(f'"{s}"' for s in SIZES))
HUGO_LIST = '{{ range .Pages }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>\n{{ end }}'


def shape_of(i: int) -> tuple[int, int, int]:
    """Stored width, height and EXIF orientation of photo i: a third portrait, a sixth sideways."""
    if i % 3 == 1:
        return 3000, 4000, 1
    return 4000, 3000, 6 if i % 6 == 3 else 1


def make_photo(path: Path, i: int) -> None:
    """A JPEG q90 that costs what a photo costs: blurred noise, shapes, film grain, camera and GPS EXIF."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    w, h, orientation = shape_of(i)
    rng = np.random.default_rng(i)
    img = Image.fromarray(rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8))
    img = img.resize((w, h), Image.BICUBIC).filter(ImageFilter.GaussianBlur(3))
    draw = ImageDraw.Draw(img)
    for _ in range(60):
        x, y, s = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(w // 40, w // 6))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x, y, x + s, y + s * 2 // 3), fill=fill,
                                                                 outline=(20, 20, 20), width=5)
    grain = rng.integers(-10, 11, (h, w, 3), dtype=np.int8)
    img = Image.fromarray((np.asarray(img, dtype=np.int16) + grain).clip(0, 255).astype(np.uint8))
    exif = img.getexif()
    exif.update({0x010F: "HUAWEI", 0x0110: "P40 Pro", 0x0112: orientation})
    exif.get_ifd(0x8825).update({1: "N", 2: (28.0, 27.0, float(i % 60)), 3: "E", 4: (119.0, 55.0, 0.0)})
    tmp = path.with_suffix(".part")
    img.save(tmp, "JPEG", quality=90, exif=exif)
    tmp.replace(path)


def make_photos(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"photo-{i:03d}.jpg" for i in range(n)]
    todo = [(p, i) for i, p in enumerate(paths) if not p.exists()]
    if todo:
        print(f"making {len(todo)} photos in {folder} …", flush=True)
        with ProcessPoolExecutor() as pool:
            list(pool.map(make_photo, *zip(*todo)))
    return paths


def place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)  # neither tool writes to its sources
    except OSError:
        shutil.copyfile(src, dst)


def stories(n: int):
    """(number, county, township, branch, date, title, body) of each story."""
    towns = [(c, t) for c, ts in COUNTIES.items() for t in ts]
    for i in range(n):
        county, township = towns[i % len(towns)]
        branch = f"{VILLAGES[i // len(towns) % len(VILLAGES)]}{i:03d}村党支部"
        body = (f"{branch}的党员志愿服务队在村口合影。清晨六点，党员活动室已经亮起了灯，"
                f"支部书记带领党员挨家挨户走访，把群众的难事、急事一一记在民情日志上。\n\n"
                f"如今，村里的路宽了、灯亮了，村民的笑容也多了。（第{i + 1}张照片）\n")
        yield i, county, township, branch, dt.date(2023, 1, 1) + dt.timedelta(days=i), f"{branch}的故事", body


def make_gushihui_site(root: Path, photos: list[Path]) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    content = root / "content"
    content.mkdir(parents=True)
    (content / "site.toml").write_text('title = "图片测试"\ncity = "丽水市"\nbase_url = "https://example.org/"\n',
                                       encoding="utf-8")
    for (i, county, township, branch, date, title, body), photo in zip(stories(len(photos)), photos):
        place(photo, content / "media" / photo.name)
        (content / "stories" / county / township).mkdir(parents=True, exist_ok=True)
        (content / "stories" / county / township / f"{i:03d}.md").write_text(
            f"---\ntitle: {title}\ncounty: {county}\ntownship: {township}\nbranch: {branch}\ndate: {date}\n"
            f"cover: /media/{photo.name}\ncover_alt: {branch}的党员在村口合影\n---\n\n{body}", encoding="utf-8")
    return content


def make_hugo_site(root: Path, photos: list[Path]) -> None:
    shutil.rmtree(root, ignore_errors=True)
    (root / "layouts").mkdir(parents=True)
    (root / "hugo.toml").write_text(HUGO_TOML, encoding="utf-8")
    (root / "layouts" / "single.html").write_text(HUGO_SINGLE, encoding="utf-8")
    (root / "layouts" / "list.html").write_text(HUGO_LIST, encoding="utf-8")
    for (i, _c, _t, _b, date, title, body), photo in zip(stories(len(photos)), photos):
        bundle = root / "content" / "stories" / f"{i:03d}"
        place(photo, bundle / "photo.jpg")
        # publishResources: false, so the 12 MP original is not copied to public/ (Gushihui's job neither)
        (bundle / "index.md").write_text(f'---\ntitle: "{title}"\ndate: {date}\nbuild:\n  publishResources: false\n'
                                         f"---\n\n{body}", encoding="utf-8")


def image_report(folder: Path) -> dict:
    """Count, bytes, widths, portrait share and metadata left of the .webp/.jpg files under folder."""
    from PIL import Image

    files = [p for p in folder.rglob("*") if p.suffix.lower() in (".webp", ".jpg", ".jpeg") and p.is_file()]
    r = {"files": len(files), "bytes": 0, "widths": Counter(), "portrait": 0, "exif": 0, "gps": 0}
    for p in files:
        data = p.read_bytes()
        r["bytes"] += len(data)
        with Image.open(p) as im:
            exif = im.getexif()
            r["widths"][im.width] += 1
            r["portrait"] += im.height > im.width
        r["exif"] += bool(exif) or b"Exif" in data
        r["gps"] += 0x8825 in exif
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/gushihui-bench/images"))
    ap.add_argument("--repo", type=Path, default=REPO, help="the checkout of Gushihui to time (default: this one)")
    ap.add_argument("--no-hugo", action="store_true")
    a = ap.parse_args()

    work, repo = a.work.resolve(), a.repo.resolve()
    photos = make_photos(work / "photos", a.photos)
    content = make_gushihui_site(work / "site", photos)
    out, twin, hugo_cache = work / "site" / "output", work / "hugo", work / "hugo-cache"
    make_hugo_site(twin, photos)
    story = sorted((content / "stories").rglob("*.md"))[a.photos // 2]
    hugo_story = twin / "content" / "stories" / f"{a.photos // 2:03d}" / "index.md"
    hugo = None if a.no_hugo else hugo_binary()
    build = [sys.executable, "-m", "generator", "build", "--content", str(content), "--out", str(out)]
    keys = ("cold", "nochange", "edit")
    times = {t: {k: [] for k in keys} for t in ("Gushihui", "Hugo")}
    peaks: dict[str, list[int]] = {"Gushihui": [], "Hugo": []}

    def run_gushihui(n: int) -> None:
        clean(out)
        seconds, peak = timed(build, cwd=repo, repo=repo)
        times["Gushihui"]["cold"].append(seconds)
        peaks["Gushihui"].append(peak)
        times["Gushihui"]["nochange"].append(timed(build, cwd=repo, repo=repo)[0])
        edit(story, n)
        times["Gushihui"]["edit"].append(timed(build, cwd=repo, repo=repo)[0])

    def run_hugo(n: int) -> None:
        cmd = [hugo, "--quiet", "--cacheDir", str(hugo_cache)]
        for junk in (twin / "public", twin / "resources", hugo_cache):  # `hugo --gc` would keep the cache
            shutil.rmtree(junk, ignore_errors=True)
        seconds, peak = timed(cmd, cwd=twin)
        times["Hugo"]["cold"].append(seconds)
        peaks["Hugo"].append(peak)
        times["Hugo"]["nochange"].append(timed(cmd, cwd=twin)[0])
        edit(hugo_story, n)
        times["Hugo"]["edit"].append(timed(cmd, cwd=twin)[0])

    order = [run_gushihui] + ([run_hugo] if hugo else [])
    for n in range(a.runs):
        for step in order[n % len(order):] + order[:n % len(order)]:  # each tool goes first in turn
            step(n)
        print(f"run {n + 1}: " + "; ".join(f"{t} " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in r.items())
                                          for t, r in times.items() if r["cold"]), flush=True)
    report(a, times, peaks, {"Gushihui": out / "media", "Hugo": twin / "public"} if hugo else {"Gushihui": out / "media"})


def report(a, times: dict, peaks: dict, folders: dict) -> None:
    tools = list(folders)

    def cell(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} s ({min(values):.2f}–{max(values):.2f})" if values else "–"

    portrait = sum(shape_of(i)[1] > shape_of(i)[0] or shape_of(i)[2] == 6 for i in range(a.photos))
    print(f"\n{a.photos} photos (12 MP, {portrait} shown upright as portrait), 6 outputs each; "
          f"{a.runs} runs, median (min–max); {os.cpu_count()} cores\n")
    print("| measurement | " + " | ".join(tools) + (" | Gushihui / Hugo |" if len(tools) > 1 else " |"))
    print("|---|" + "---|" * len(tools) + ("---|" if len(tools) > 1 else ""))
    for key, label in [("cold", "cold build"), ("nochange", "no-change rebuild"),
                       ("edit", "rebuild after editing one story")]:
        ratio = ""
        if len(tools) > 1:
            ratio = f" {statistics.median(times['Gushihui'][key]) / statistics.median(times['Hugo'][key]):.2f} × |"
        print(f"| {label} | " + " | ".join(cell(times[t][key]) for t in tools) + " |" + ratio)
    print("| peak memory, cold build | " + " | ".join(f"{statistics.median(peaks[t]) / 1024:.0f} MB" for t in tools)
          + " |" + (" |" if len(tools) > 1 else ""))
    print(f"\n| images produced (expected {6 * a.photos}, {6 * portrait} portrait) | files | MB | widths "
          "| portrait | with EXIF | with GPS |\n|---|---|---|---|---|---|---|")
    for t in tools:
        r = image_report(folders[t])
        widths = ", ".join(f"{w}×{c}" for w, c in sorted(r["widths"].items()))
        print(f"| {t} ({folders[t].name}/) | {r['files']} | {r['bytes'] / 1e6:.1f} | {widths} | {r['portrait']} "
              f"| {r['exif']} | {r['gps']} |")


if __name__ == "__main__":
    main()
