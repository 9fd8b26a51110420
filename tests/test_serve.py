"""The live preview: the WSGI side directly, and the whole command in a
subprocess on a loopback port, driven like a browser (HTTP + livereload's
websocket)."""
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from generator.serve import Preview

ROOT = Path(__file__).resolve().parent.parent


def call(app, path):
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app({"PATH_INFO": path}, start_response))
    return seen["status"], seen["headers"], body.decode("utf-8")


def test_preview_serves_the_site_with_drafts(tiny):
    preview = Preview(tiny, "127.0.0.1", 8999, lambda line: None)
    assert preview.rebuild(first=True).written
    status, headers, body = call(preview.app, "/stories/shipu/")  # a draft
    assert status == "200 OK" and "石浦渔民上岸记" in body
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert 'href="/feed.xml"' in body  # root-relative: the preview does not depend on its port
    assert call(preview.app, "/about")[:2][0] == "301 Moved Permanently"
    status, _, body = call(preview.app, "/no/such/page/")
    assert status == "404 Not Found" and "页面不存在" in body
    assert call(preview.app, "/../../../etc/passwd")[0] == "404 Not Found"
    assert not (ROOT / "output" / "stories" / "shipu").exists()  # never the real output


def test_a_failed_build_keeps_the_last_good_site_and_shows_the_errors(tiny):
    lines = []
    preview = Preview(tiny, "127.0.0.1", 8999, lines.append)
    preview.rebuild(first=True)
    story = tiny / "stories" / "yantou.md"
    story.write_text(story.read_text(encoding="utf-8").replace("date: 2016-11-20", "date: 2016-11-31"),
                     encoding="utf-8")
    report = preview.rebuild()
    assert not report.written
    status, _, body = call(preview.app, "/stories/yantou/")
    assert status == "200 OK" and "通济堰边的守护人" in body  # the last good page
    assert 'role="alert"' in body and "E303" in body and "yantou.md:6" in body
    # The panel stands above the page in its flow (the title stays visible) and can be closed.
    panel = body[body.index('<div role="alert"'):body.index("</div>", body.index('<div role="alert"'))]
    assert "position:fixed" not in panel and 'onclick="this.parentNode.remove()"' in panel and ">关闭</button>" in panel
    assert body.index("<body") < body.index('role="alert"') < body.index("<h1")
    assert any("E303" in line for line in lines)
    story.write_text(story.read_text(encoding="utf-8").replace("2016-11-31", "2016-11-30"), encoding="utf-8")
    assert preview.rebuild().written
    assert 'role="alert"' not in call(preview.app, "/stories/yantou/")[2]


def test_the_cache_is_saved_after_the_browser_is_told(tiny):
    """serve saves the cache of an edit's build only after telling the browser to
    reload (save=False, then save_cache): the reload does not wait for it."""
    from generator.cache import Cache, cache_path

    preview = Preview(tiny, "127.0.0.1", 8999, lambda line: None)
    assert preview.rebuild(first=True).written
    saved = lambda: Cache.open(cache_path(preview.options.out))[0].pages  # noqa: E731
    before = saved()
    story = tiny / "stories" / "yantou.md"
    story.write_text(story.read_text(encoding="utf-8").replace("通济堰边的守护人", "通济堰边的守护者"), encoding="utf-8")
    assert preview.rebuild(changed={str(story)}, save=False).written
    assert "通济堰边的守护者" in call(preview.app, "/stories/yantou/")[2]
    assert saved() == before  # not yet
    preview.save_cache()
    after = saved()
    assert after != before and after["stories/yantou/index.html"] != before["stories/yantou/index.html"]
    preview.save_cache()  # nothing left to save: a no-op
    assert saved() == after


def test_redirects_stay_on_this_host(tiny):
    preview = Preview(tiny, "127.0.0.1", 8999, lambda line: None)
    preview.rebuild(first=True)
    for path, location in [("//evil.example/%2e%2e/about", "/evil.example/%2e%2e/about/"),
                           ("///evil.example/%2e%2e/about", "/evil.example/%2e%2e/about/"),
                           ("/\\evil.example/%2e%2e/about", "/evil.example/%2e%2e/about/"),
                           ("//evil.example/../about", "/evil.example/../about/"),  # as servers decode it
                           ("/about", "/about/")]:
        status, headers, _ = call(preview.app, path)
        assert (status, headers["Location"]) == ("301 Moved Permanently", location)


def test_odd_paths_get_the_404_page(tiny):
    preview = Preview(tiny, "127.0.0.1", 8999, lambda line: None)
    preview.rebuild(first=True)
    for path in ["/%00", "/stories%00/", "/stories/\x00", "/about%0d%0aSet-Cookie:%20x=1", "/" + "a" * 5000]:
        status, headers, body = call(preview.app, path)
        assert status == "404 Not Found" and "Location" not in headers
        assert "页面不存在" in body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode("utf-8")


def wait_for(predicate, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return None


@pytest.fixture
def server(tiny):
    port = free_port()
    # Ctrl-C as in a terminal, even when the tests themselves run in the background (`… &`
    # ignores SIGINT, and a child inherits that: the preview would never see the test's Ctrl-C).
    proc = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--content", str(tiny), "--port", str(port)],
                            cwd=tiny.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def ready():
        try:
            return fetch(f"http://127.0.0.1:{port}/")
        except (urllib.error.URLError, ConnectionError):
            return None

    assert wait_for(ready, 30), "the preview server did not start"
    yield port, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


async def reloads_after(port: int, edit, seconds: float) -> list[dict]:
    """Connect like livereload.js, make the edit, collect reload messages for a while."""
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(f"ws://127.0.0.1:{port}/livereload")
    await ws.write_message(json.dumps({"command": "hello", "protocols": ["http://livereload.com/protocols/official-7"]}))
    await ws.read_message()  # the server's hello
    await ws.write_message(json.dumps({"command": "info", "plugins": {}, "url": f"http://127.0.0.1:{port}/"}))
    await asyncio.sleep(0.2)  # let the server register this page as a waiter
    edit()
    messages = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            raw = await asyncio.wait_for(ws.read_message(), timeout=max(0.01, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            break
        if raw is None:
            break
        message = json.loads(raw)
        if message.get("command") == "reload":
            messages.append(message)
    ws.close()
    return messages


def test_serve_rebuilds_reloads_and_exits_cleanly(server, tiny):
    port, proc = server
    story = tiny / "stories" / "云和县" / "长汀先锋.md"
    page = f"http://127.0.0.1:{port}/stories/chang-ting-xian-feng/"
    assert "长汀村的先锋指数" in fetch(page)
    assert "livereload.js" in fetch(page)  # the script comes from this same local server

    def burst():  # five saves in quick succession, as an editor's autosave does
        text = story.read_text(encoding="utf-8")
        for i in range(5):
            story.write_text(text.replace("长汀村的先锋指数", f"长汀村的先锋指数（第{i}稿）"), encoding="utf-8")

    messages = asyncio.run(reloads_after(port, burst, seconds=4))
    assert len(messages) == 1  # one rebuild, one reload for the burst
    assert "长汀村的先锋指数（第4稿）" in fetch(page)
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:  # say where it hangs: serve prints every thread's stack on SIGUSR1
        proc.send_signal(signal.SIGUSR1)
        time.sleep(1)
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError("serve did not exit after Ctrl-C:\n" + out[-6000:]) from None
    assert proc.returncode == 0
    assert out.count("已更新") == 2  # the first build and the one for the burst
    assert "Traceback" not in out and "已退出预览" in out


def test_port_in_use_is_a_command_line_error(tiny, capsys):
    from generator.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--content", str(tiny), "--port", str(port)]) == 2
    assert "--port" in capsys.readouterr().err
