"""`gushihui serve`: build, serve the output, rebuild what changed, reload the browser.

A file watcher (watchdog: inotify on Linux, the native API elsewhere) sees a
save at once; saves arriving within DEBOUNCE seconds of each other make one
rebuild. The build runs in the server's own thread with the session (the
cache and its memos) kept in memory, so a one-story edit renders only the pages it touches. When a build
fails, the last good site stays served and every HTML page shows the errors
in a panel on top; the terminal shows them too.

The search index of a county whose stories changed is made after the pages
are written and the browser reloaded, in a thread of its own (Pagefind takes
seconds for a large county); then a quiet rebuild moves it in.
"""
from __future__ import annotations

import faulthandler
import gc
import html
import logging
import mimetypes
import re
import signal
import threading
import time
from pathlib import Path
from typing import Callable

from . import search
from .build import Options, Report, build, save_cache
from .errors import Problem
from .session import Session
from .workers import jobs_for

DEBOUNCE = 0.05  # seconds of quiet after a save before rebuilding
PREVIEW = Path(".gushihui-cache") / "preview"  # beside content/: never the real output/
# Not C1: PATH_INFO holds the request's bytes as latin-1, where UTF-8 has 0x80-0x9f.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Preview:
    """The state of one serve session: options, the build session, the last problems."""

    def __init__(self, content: Path, host: str, port: int, say: Callable[[str], None], jobs: int | None = None):
        root = content.resolve().parent
        # base_url "/" keeps every address root-relative, so the preview (and its cache)
        # does not depend on the host and port it is served on.
        self.options = Options(content=content, out=root / PREVIEW, drafts=True, jobs=jobs, base_url="/",
                               index_later=True)
        self.session, problems = Session.open(self.options.out)
        self.say = say
        self.errors: list[Problem] = []
        self.watched = [content.resolve(), root / "themes"]
        self.generation = 0  #: counts builds, for tests and the log
        self.search: search.Index | None = None  #: the last build's search index, with what it left for later
        self.unsaved = False  #: the last build's cache is not saved yet (`save_cache`)

    def rebuild(self, first: bool = False, changed: set[str] | None = None,
                indexed: search.Index | None = None, save: bool = True) -> Report:
        """Build what changed. `indexed`: what `make_search` just made; the build only moves it in.
        `save` False: the cache is saved by `save_cache`, called after the browser is told."""
        started = time.perf_counter()
        gc.disable()  # a build makes many small objects; collecting mid-way only costs time
        try:
            report = build(self.options, session=self.session, quick_check=False, changed=None if first else changed,
                           save=save)
            self.unsaved = report.written and not save
        finally:
            gc.enable()
            if self.generation % 20 == 0:  # now and then, free the cycles of old builds for real
                gc.unfreeze()
                gc.collect()
            gc.freeze()  # the library stays alive between builds: keep it out of later collections
        self.generation += 1
        for p in sorted(report.problems, key=Problem.sort_key):
            self.say(str(p))
        self.errors = report.errors if not report.written else []
        if report.written:
            self.search = report.search
        seconds = time.perf_counter() - started
        if report.written and indexed is not None:
            self.say(f"搜索索引已生成（{len(indexed.made)} 个县（市、区），用时 {indexed.seconds + seconds:.2f} 秒）。")
        elif report.written:
            what = "全部" if first else f"{report.rendered} 个页面有变化"
            self.say(f"已更新（{what}），用时 {seconds:.2f} 秒。")
        else:
            self.say(f"有 {len(report.errors)} 个错误，浏览器里仍是上次成功的网站。")
        return report

    def save_cache(self) -> None:
        """The cache of the last build saved, if it is not yet (for the next `serve`)."""
        if self.unsaved and self.session.cache is not None:
            self.unsaved = False
            for p in save_cache(self.session.cache):
                self.say(str(p))

    def take_search(self) -> search.Index | None:
        """What the last build left for later to index, taken (None: nothing)."""
        last, self.search = self.search, None
        return last if last is not None and last.pending else None

    def make_search(self, last: search.Index) -> search.Index:
        """Make the search shards a build left for later (`take_search`), in any thread: the
        builds go on meanwhile. Then `rebuild(indexed=…)` moves them in."""
        done = search.make_pending(last, jobs_for(self.options.jobs))
        for p in done.problems:
            self.say(str(p))
        return done

    # The web side: a WSGI app over the output folder --------------------------------

    def app(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        file = self._file(path)
        status = "200 OK"
        if file is None:
            if not path.endswith("/") and self._file(path + "/") is not None:
                # "//host/x" (or "/\\host/x", which browsers read alike) would send the
                # browser to another site: redirect only to a path on this host.
                start_response("301 Moved Permanently", [("Location", "/" + path.lstrip("/\\") + "/")])
                return [b""]
            status, file = "404 Not Found", self.options.out / "404.html"
        body = file.read_bytes() if file.is_file() else "页面不存在".encode()
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind == "text/html" and self.errors:
            body = _with_error_panel(body, self.errors)
        if kind.startswith("text/") or kind in ("application/xml", "application/javascript"):
            kind += "; charset=utf-8"
        start_response(status, [("Content-Type", kind), ("Cache-Control", "no-store")])
        return [body]

    def _file(self, path: str) -> Path | None:
        from urllib.parse import unquote

        name = unquote(path)
        if _CONTROL.search(name):
            return None  # NUL makes resolve() raise; no file of the site has such a name
        out = self.options.out.resolve()
        try:
            target = (out / name.lstrip("/")).resolve()
            if target != out and out not in target.parents:
                return None  # never serve anything outside the preview folder
            if target.is_dir():
                target = target / "index.html" if path.endswith("/") else None
            return target if target is not None and target.is_file() else None
        except (OSError, ValueError):  # e.g. a name too long for the file system
            return None


class PortUnavailable(OSError):
    """The preview cannot listen on host:port (taken, not this machine's address, not allowed).

    An OSError with the system's errno, and the address it was about."""

    def __init__(self, host: str, port: int, error: OSError):
        super().__init__(error.errno, error.strerror or str(error))
        self.host, self.port = host, port


def _check_port(host: str, port: int) -> None:
    """PortUnavailable now when the address cannot be served, as the server would raise later.

    The probe is the server's own bind (tornado's bind_sockets: the same addresses for a
    name like "localhost", SO_REUSEADDR only where it does not let two servers share a port)."""
    from tornado.netutil import bind_sockets

    try:
        sockets = bind_sockets(port, host)
    except OSError as exc:  # includes socket.gaierror: a host name that does not resolve
        raise PortUnavailable(host, port, exc) from exc
    for probe in sockets:
        probe.close()


def free_port_near(host: str, port: int, tries: int = 20) -> int | None:
    """The first port after `port` that can be served, to suggest instead of a taken one."""
    for candidate in range(port + 1, min(port + tries, 65535) + 1):
        try:
            _check_port(host, candidate)
        except PortUnavailable:
            continue
        return candidate
    return None


def _scratch(path: str) -> bool:
    name = Path(path).name
    return name.startswith(".") or name.endswith(("~", ".swp", ".swx", ".tmp"))


def _with_error_panel(page: bytes, errors: list[Problem]) -> bytes:
    items = "".join(f"<li><code>{html.escape(p.where())}</code> {html.escape(p.code)}：{html.escape(p.message)}</li>"
                    for p in errors[:50])
    # In the page's flow, above it (not over the title), and closable: the preview only, never the site.
    panel = ('<div role="alert" id="gushihui-errors" style="position:relative;max-height:50vh;overflow:auto;'
             'background:#fff4f4;color:#5a0000;border-bottom:4px solid #b5121b;padding:1rem 3.5rem 1rem 1.5rem;'
             'font:15px/1.6 system-ui,sans-serif">'
             '<button type="button" aria-label="关闭错误列表" onclick="this.parentNode.remove()" '
             'style="position:absolute;top:.6rem;right:.8rem;font:inherit;padding:.1rem .6rem;cursor:pointer">'
             '关闭</button>'
             f'<strong>构建失败，共 {len(errors)} 个错误</strong>（下面是上次成功生成的页面）<ol>{items}</ol></div>')
    text = page.decode("utf-8", "replace")
    at = text.find("<body")
    at = text.find(">", at) + 1 if at >= 0 else 0
    return (text[:at] + panel + text[at:]).encode("utf-8")


def serve(content: Path, host: str, port: int, say: Callable[[str], None], jobs: int | None = None) -> int:
    """Run until Ctrl-C. Returns the exit status."""
    from livereload import Server
    from livereload.handlers import LiveReloadHandler
    from livereload.watcher import Watcher
    from tornado.ioloop import IOLoop
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    try:  # `kill -USR1 <pid>` prints where every thread is (a preview that hangs)
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    except (AttributeError, ValueError, OSError):  # no SIGUSR1 (Windows), or stderr is not a file
        pass
    _check_port(host, port)  # before a long first build, not after
    preview = Preview(content, host, port, say, jobs)

    class Quiet(Watcher):
        """livereload's watcher polls every 0.8 s; ours is told by watchdog."""

        def start(self, callback):
            return True

        def examine(self):
            return None, None

    loop_holder: dict = {}
    pending = {"at": 0.0, "scheduled": False, "paths": set()}
    indexing = {"busy": False}

    def index_later():  # on the IOLoop thread, after a build: Pagefind runs in a thread of its own
        if indexing["busy"]:
            return
        last = preview.take_search()
        if last is None:
            return
        indexing["busy"] = True

        def work():
            done = preview.make_search(last)
            loop_holder["loop"].add_callback(indexed, done)

        threading.Thread(target=work, name="gushihui-search", daemon=True).start()

    def indexed(done):  # on the IOLoop thread
        indexing["busy"] = False
        if done.made:
            preview.rebuild(changed=set(), indexed=done)  # no reload: a reader may be typing a query
        index_later()  # what the builds meanwhile left

    def run_rebuild():
        pending["scheduled"] = False
        if time.monotonic() - pending["at"] < DEBOUNCE:  # still saving: wait for quiet
            pending["scheduled"] = True
            loop_holder["loop"].call_later(DEBOUNCE, run_rebuild)
            return
        paths, pending["paths"] = pending["paths"], set()
        preview.rebuild(changed=paths, save=False)
        LiveReloadHandler._last_reload_time = time.time()
        LiveReloadHandler.reload_waiters(path="*")
        loop_holder["loop"].add_callback(preview.save_cache)  # once the browser is told
        index_later()

    def changed(paths: list[str]) -> None:  # on the IOLoop thread
        pending["at"] = time.monotonic()
        pending["paths"].update(paths)
        if not pending["scheduled"]:
            pending["scheduled"] = True
            loop_holder["loop"].call_later(DEBOUNCE, run_rebuild)

    class OnChange(FileSystemEventHandler):
        def on_any_event(self, event):
            if event.event_type in ("opened", "closed_no_write") or event.is_directory and event.event_type == "modified":
                return
            # Editors save through scratch files (.x.swp, x~) renamed over the real one:
            # a move counts by its destination.
            paths = [p for p in (event.src_path, getattr(event, "dest_path", "")) if p and not _scratch(p)]
            if paths:
                loop_holder["loop"].add_callback(changed, paths)

    class QuietServer(Server):
        def application(self, port, host, **kwargs):  # the bind itself: the port may be taken since the check
            try:
                super().application(port, host, **kwargs)
            except OSError as exc:
                raise PortUnavailable(host, port, exc) from exc
            say(f"正在预览：http://{host}:{port}/（草稿也会显示；按 Ctrl+C 退出）")  # listening now

        def _setup_logging(self):  # our own lines only; livereload's would bury them
            logging.getLogger("livereload").setLevel(logging.ERROR)
            logging.getLogger("tornado.access").setLevel(logging.ERROR)

    watcher = Quiet()
    watcher.watch(str(content))  # livereload watches the current folder when given nothing
    server = QuietServer(app=preview.app, watcher=watcher)
    observer = Observer()
    for folder in preview.watched:
        if folder.is_dir():
            observer.schedule(OnChange(), str(folder), recursive=True)
    loop_holder["loop"] = IOLoop.current()
    observer.start()  # before the first build: a save during it is queued, not lost
    preview.rebuild(first=True)
    index_later()
    try:
        server.serve(port=port, host=host, debug=False, restart_delay=0)
    finally:
        observer.stop()
        observer.join(timeout=2)
    say("已退出预览。")
    return 0
