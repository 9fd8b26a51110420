"""`gushihui init DIR`: a new site that builds at once, with everything a
newcomer needs to copy: settings explained in Chinese, a registry, a story,
a free page."""
from __future__ import annotations

from pathlib import Path

SITE_TOML = '''# 网站设置。井号（#）开头的是说明，不影响设置。
title = "某某市党建好故事展评"        # 网站名称，显示在每一页的顶部
city = "某某市"
base_url = "https://example.org/"   # 网站放到服务器上以后的网址，以 / 结尾
description = "全市基层党支部讲述的党建好故事"
footer = "中共某某市委组织部"         # 每一页底部的一行字

[coverage]
target = 1.0                        # 每个支部都要讲一个故事：1.0 就是 100%

# [anthology]
# paper = "A4"                      # 乡镇汇编打印用的纸张：A4 或 A5
'''

ORG_CSV = '''county,county_code,township,township_code,branch,branch_code
示例县,330000,示例镇,330000001,示例村党支部,330000001001
示例县,330000,示例镇,330000001,示例社区党支部,330000001002
'''

STORY = '''---
title: 一张民情地图
county: 示例县
township: 示例镇
branch: 示例村党支部
date: 2024-06-01
authors: [张三]
standard: 讲好党建故事
tags: [民情地图]
---

这是一个示例故事。把它改成你们支部的故事，或者照着它新建一个文件：

    gushihui new story --county 示例县 --township 示例镇 --branch 示例社区党支部 "故事标题"

## 小标题

正文直接从 Word 或 WPS 里复制过来即可。段落之间空一行。
'''

ABOUT = '''---
title: 关于本站
menu: 1
---

本站收录全市基层党支部讲述的党建好故事。
'''


def write_skeleton(root: Path) -> None:
    content = root / "content"
    for name, text in {"site.toml": SITE_TOML, "org.csv": ORG_CSV, "stories/示例县/示例镇/yi-zhang-min-qing-di-tu.md": STORY,
                       "pages/about.md": ABOUT, "media/.keep": ""}.items():
        path = content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
