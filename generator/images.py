"""Pictures made fit to publish, with Pillow: upright (EXIF orientation
applied), without metadata (EXIF, GPS, XMP, IPTC, comments; an ICC profile
converted to sRGB), in a few widths (never enlarged), as WebP and as JPEG
(PNG when the picture has transparency). An animated GIF or WebP stays
animated at its own size, its metadata removed.

Derived files live in a store beside the output, named by the hash of the
source's bytes and the settings; a source's manifest (`<key>.json`) is
written last, so its existence means every file is there (Zola, Lektor).
A build copies (hard-links) them into the site under addresses that carry
the same hash. `make` runs in worker processes; everything else is cheap.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from .config import Images
from .models import Picture, Variant

# A source of these types may also be published under its own name, in its own format.
SAME_FORMAT = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP", "avif": "AVIF"}
PIPELINE = "1"  # bump when `make` changes what it writes: every name changes with it
WEBP_METHOD = 4  # libwebp's effort, 0–6; 4 is its default balance of size and time
MIME = {"webp": "image/webp", "jpg": "image/jpeg", "png": "image/png", "gif": "image/gif"}


class PictureError(Exception):
    """A source that cannot be published: `code` (E340–E343) and a message in Chinese."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Source:
    """What a source turned out to be; kept in the manifest and the build cache."""

    digest: str  #: hash of the file's bytes
    width: int  #: upright
    height: int
    alpha: bool  #: may have transparent pixels: PNG, not JPEG, is its fallback
    animation: str = ""  #: "gif" or "webp" for an animated picture (kept so, at its own size)

    def key(self, spec: Images) -> str:
        value = (PIPELINE, self.digest, spec.widths, spec.quality, WEBP_METHOD)
        return hashlib.blake2b(repr(value).encode(), digest_size=8).hexdigest()

    def sizes(self, spec: Images) -> list[tuple[int, int]]:
        """(width, height) of each size: the widths below the picture's own,
        and the picture's own width capped at the largest. An animated picture has one."""
        if self.animation:
            return [(self.width, self.height)]
        widest = min(self.width, spec.widths[-1])
        widths = [w for w in spec.widths if w < widest] + [widest]
        return [(w, max(1, round(self.height * w / self.width))) for w in widths]

    def files(self, spec: Images) -> list[tuple[str, int, int, str]]:
        """(file name in the store, width, height, extension) of every size and format."""
        key = self.key(spec)
        if self.animation:
            return [(f"{key}-{w}.{self.animation}", w, h, self.animation) for w, h in self.sizes(spec)]
        fallback = "png" if self.alpha else "jpg"
        return [(f"{key}-{w}.{ext}", w, h, ext) for w, h in self.sizes(spec) for ext in ("webp", fallback)]


def picture(address: str, source: Source, spec: Images) -> tuple[Picture, dict[str, str]]:
    """The picture published at `address` and {output address: file name in the store}."""
    stem = posixpath.splitext(address)[0]
    key = source.key(spec)
    modern, fallback, files = [], [], {}
    for name, w, h, ext in source.files(spec):
        variant = Variant(f"{stem}-{w}w-{key[:10]}.{ext}", w, h, MIME[ext])
        files[variant.address] = name
        (modern if ext == "webp" and not source.animation else fallback).append(variant)
    top = fallback[-1]
    return Picture(address, top.width, top.height, tuple(modern), tuple(fallback), key), files


def same_format_name(address: str, source: Source, spec: Images) -> str | None:
    """The store file to publish at the source's own address (a picture in
    media/ no page shows, kept at its name), or None when its type cannot be."""
    ext = posixpath.splitext(address)[1][1:].lower()
    if ext not in SAME_FORMAT:
        return None
    for name, _, _, made in reversed(source.files(spec)):  # the largest first
        if SAME_FORMAT.get(made) == SAME_FORMAT[ext]:
            return name
    return f"{source.key(spec)}-own.{ext}"


_done: set[str] = set()


# The work, in a worker -----------------------------------------------------------

def _plugins() -> None:
    """HEIC (iPhone photos) through pillow-heif, when it is installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


def _open(data: bytes | Path):
    from PIL import Image, UnidentifiedImageError

    if "_plugins" not in _done:
        _plugins()
        _done.add("_plugins")
    try:
        return Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
    except UnidentifiedImageError:
        head = data[:12] if isinstance(data, bytes) else _head(data)
        if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1", b"ftyphevc"):
            raise PictureError("E343", "是 HEIC 格式（苹果手机的照片），需要 pillow-heif 才能处理：请运行 "
                               "pip install pillow-heif，或在手机上把“相机 → 格式”设为“兼容性最佳”，"
                               "或用“照片”“画图”等软件另存为 JPEG") from None
        raise PictureError("E340", "不是能识别的图片（可能是改了扩展名的其他文件）；请用图像软件另存为 JPEG 或 PNG") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise PictureError("E341", f"图片文件已损坏（{exc}）；请重新导出或换一张") from None


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(12)


def probe(data: bytes | Path, spec: Images) -> tuple[Source, object]:
    """The source's facts from its header (nothing decoded yet) and the open
    image. PictureError when it is not a picture we can publish. Given a path,
    only the header is read, and the digest is left empty (for `check`)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # our own limit below, with our own message
    image = _open(data)
    width, height = image.size
    if width * height > spec.max_pixels:
        raise PictureError("E342", f"有 {width}×{height} 像素，超过上限 {spec.max_pixels:,}（images.max_pixels）；"
                           "请缩小后再用（网页上 1600 像素宽已足够清楚）")
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001  a broken EXIF block: the picture is still a picture
        orientation = 1
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    animation = ("webp" if image.format == "WEBP" else "gif") if getattr(image, "n_frames", 1) > 1 else ""
    alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    digest = hashlib.blake2b(data, digest_size=16).hexdigest() if isinstance(data, bytes) else ""
    return Source(digest, width, height, alpha, animation), image


def inspect(path: Path, spec: Images) -> None:
    """PictureError when the picture at `path` cannot be published, as far as
    its header tells (a truncated file is only found when it is made)."""
    try:
        probe(path, spec)[1].close()
    except OSError as exc:
        raise PictureError("E341", f"无法读取（{exc.strerror or exc}）") from None


def make(path: Path, store: Path, spec: Images, own_format: bool = False) -> tuple[Source, bool]:
    """Every size of the picture at `path` in the store (nothing when its manifest
    says they are there already); `own_format`: also the largest in the source's
    own format, to publish at its own address. PictureError for a bad picture."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PictureError("E341", f"无法读取（{exc.strerror or exc}）") from None
    source, image = probe(data, spec)
    manifest = store / f"{source.key(spec)}.json"
    if manifest.exists():
        done = _read_manifest(manifest)
        if all((store / n).exists() for n in _names(path.name, done, spec, own_format)):
            return done, False
    try:
        with _strict_decoding():
            made, source = _derive(image, source, spec)
    except PictureError:
        raise
    except Exception as exc:  # noqa: BLE001  truncated data, a broken chunk: Pillow's errors vary by format
        raise PictureError("E341", f"图片文件不完整或已损坏（{type(exc).__name__}: {exc}）；请重新导出或换一张") from None
    store.mkdir(parents=True, exist_ok=True)
    for name, _, _, ext in source.files(spec):
        _write(store / name, made[name])
    own = same_format_name(path.name, source, spec) if own_format else None
    if own and not (store / own).exists():
        _write(store / own, _encode(made["largest"], SAME_FORMAT[posixpath.splitext(own)[1][1:]], spec,
                                    source.alpha))
    _write(manifest, json.dumps(source.__dict__).encode())
    return source, True


@contextmanager
def _strict_decoding():
    """A truncated file is an error, even when another library in this process
    (WeasyPrint does) told Pillow to fill the missing part with grey."""
    from PIL import ImageFile

    previous, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _read_manifest(path: Path) -> Source:
    return Source(**json.loads(path.read_text()))


def _write(path: Path, data: bytes) -> None:
    """Write-then-rename: a killed worker leaves no half file under a final name."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _derive(image, source: Source, spec: Images) -> tuple[dict, Source]:
    """{store file name: bytes} of every size and format, and "largest": the
    upright image; and the source, told now whether its pixels are all opaque."""
    from PIL import ImageOps

    if source.animation:
        return _animated(image, source, spec), source
    widest, tallest = source.sizes(spec)[-1]
    if image.format == "JPEG":  # decode at a reduced scale (libjpeg's DCT scaling): 4× less work for a phone photo
        turned = image.getexif().get(0x0112, 1) in (5, 6, 7, 8)
        image.draft(image.mode, (tallest, widest) if turned else (widest, tallest))
    image.load()
    icc = image.info.get("icc_profile")
    image = _plain_colours(ImageOps.exif_transpose(image), icc, source.alpha)
    if source.alpha and image.getchannel("A").getextrema()[0] == 255:  # a screenshot saved with an opaque alpha
        image, source = image.convert("RGB"), replace(source, alpha=False)
    key, out = source.key(spec), {}
    current = image
    fallback = "png" if source.alpha else "jpg"
    for w, h in reversed(source.sizes(spec)):  # each size from the next larger one: less to read each time
        current = current.resize((w, h), _LANCZOS(), reducing_gap=3.0) if current.size != (w, h) else current
        if w == widest:
            out["largest"] = current
        out[f"{key}-{w}.webp"] = _encode(current, "WEBP", spec, source.alpha)
        out[f"{key}-{w}.{fallback}"] = _encode(current, "PNG" if source.alpha else "JPEG", spec, source.alpha)
    return out, source


def _LANCZOS():
    from PIL import Image

    return Image.Resampling.LANCZOS


def _plain_colours(image, icc: bytes | None, alpha: bool):
    """RGB (RGBA with transparency), in sRGB, 8 bits a channel."""

    mode = "RGBA" if alpha else "RGB"
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey: scale, do not clip at 255
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif image.mode == "F":
        image = image.point(lambda v: v * 255).convert("L")
    if icc:
        try:
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if image.mode not in ("RGB", "RGBA", "CMYK", "L"):
                image = image.convert(mode)
            converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"),
                                                  outputMode="RGBA" if image.mode == "RGBA" else "RGB")
            if converted is not None:
                image = converted
        except Exception:  # noqa: BLE001  a broken or unsupported profile: keep the colours as they are
            pass
    if image.mode != mode:
        image = image.convert(mode)
    image.info.clear()  # nothing of the source's metadata may travel with the pixels
    return image


def _encode(image, fmt: str, spec: Images, alpha: bool) -> bytes:
    out = io.BytesIO()
    if fmt == "WEBP":
        image.save(out, "WEBP", quality=spec.quality, method=WEBP_METHOD, exact=False)
    elif fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=spec.quality, progressive=True)
    elif fmt == "PNG":
        image.save(out, "PNG", compress_level=6)
    else:
        image.save(out, fmt)
    return out.getvalue()


def _animated(image, source: Source, spec: Images) -> dict:
    """Every frame kept, at the picture's own size; only timing and looping carried over."""
    from PIL import ImageSequence

    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        durations.append(frame.info.get("duration", 100))
        frames.append(frame.convert("RGBA"))
        frames[-1].info.clear()  # the GIF writer takes a comment or XMP from the first frame's info
    [(name, *_)] = source.files(spec)
    out = io.BytesIO()
    fmt = "WEBP" if source.animation == "webp" else "GIF"
    extra = {"quality": spec.quality} if fmt == "WEBP" else {"disposal": 2, "optimize": False}
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=durations,
                   loop=image.info.get("loop", 0), **extra)
    return {name: out.getvalue(), "largest": frames[0]}


# The stage, in the build ------------------------------------------------------------

@dataclass
class Published:
    """What the image stage gives the build."""

    pictures: dict[str, Picture]  #: address a story refers to → the picture published for it
    files: dict[str, tuple[Path, str, str | None]]  #: output address → (store file, label, referring file)
    problems: list
    made: int = 0  #: sources this build made pictures of (the others were found in the store)
    names: set[str] = None  #: every store file this site uses


def publish(content: Path, stats: dict, uses: dict, spec: Images, store: Path, known: dict,
            jobs: int, progress=None) -> Published:
    """Every picture in `uses` (files.pictures_used) made or found in the
    store. `stats`: content/'s files and their stats; `known`: source →
    (stat, Source fields), what the last builds learnt, updated here."""
    from .errors import Problem
    from .workers import make_pictures

    sources: dict[str, Source] = {}
    todo = []
    for src, use in uses.items():
        entry = known.get(src)
        source = Source(*entry[1]) if entry and entry[0] == stats.get(src) else None
        if source is not None and all((store / n).exists() for n in _names(src, source, spec, use.own)):
            sources[src] = source
        else:
            todo.append(src)
    problems = []
    results = make_pictures([(content / src, uses[src].own) for src in todo], store, spec, jobs, progress)
    made = 0
    for src, (result, error) in zip(todo, results):
        if result is None:
            known.pop(src, None)
            problems += _problems(content, src, uses[src], *error)
            continue
        source, work = result
        sources[src], known[src] = source, (stats.get(src), tuple(source.__dict__.values()))
        made += work
    pictures, files, names = {}, {}, set()
    for src, source in sources.items():
        use = uses[src]
        referrer = use.refs[0][0] if use.refs else None
        for address in sorted(use.addresses):
            if use.refs:
                pictures[address], sizes = picture(address, source, spec)
                for out, name in sizes.items():
                    files[out] = (store / name, f"图片 {src} 的缩放图", referrer)
                    names.add(name)
            own = same_format_name(src, source, spec) if use.own else None
            if own:
                files[address] = (store / own, f"图片 {src}", None)
                names.add(own)
            elif use.own:
                problems.append(Problem("W319", "浏览器不能直接显示这种图片，又没有页面用到它，没有发布；"
                                        "在故事里引用它，就会转成网页能显示的格式", str(content / src)))
    names |= {f"{s.key(spec)}.json" for s in sources.values()}
    return Published(pictures, files, problems, made, names)


def check(content: Path, stats: dict, uses: dict, spec: Images, known: dict) -> list:
    """The problems of the pictures in `uses` as far as their headers tell,
    for `gushihui check`: nothing is made or written. A source the last build
    made (its stat unchanged) is not looked at again."""
    problems = []
    for src, use in uses.items():
        entry = known.get(src)
        if entry and entry[0] == stats.get(src):
            continue
        try:
            inspect(content / src, spec)
        except PictureError as exc:
            problems += _problems(content, src, use, exc.code, exc.message)
    return problems


def _problems(content: Path, src: str, use, code: str, message: str) -> list:
    """A bad picture's problem at each place that refers to it; a warning
    when no page does (it is only left out)."""
    from .errors import Problem

    return [Problem(code, f"图片“{src}”{message}", file, line) for file, line in use.refs] or \
        [Problem("W344", f"这张图片没有页面用到，{message}，没有发布", str(content / src))]


def _names(src: str, source: Source, spec: Images, own: bool) -> list[str]:
    names = [name for name, *_ in source.files(spec)]
    extra = same_format_name(src, source, spec) if own else None
    return names + [f"{source.key(spec)}.json"] + ([extra] if extra else [])


def prune(store: Path, keep: set[str]) -> None:
    """Remove the store's files this site no longer uses (after a build that wrote)."""
    try:
        entries = list(os.scandir(store))
    except OSError:
        return
    for entry in entries:
        if entry.name not in keep:
            try:
                os.unlink(entry.path)
            except OSError:
                pass
