#!/usr/bin/env python3
"""Micro-benchmark of the render stage: every page plan of a built site
rendered in this one process (formats.write), CPU time summed per kind.

    python3 bench/render.py /tmp/gushihui-bench/site-10000            # CPU per kind
    python3 bench/render.py SITE --runs 3                              # median of 3 passes
    python3 bench/render.py SITE --hashes /tmp/pages.txt               # also each page's hash
    python3 bench/render.py SITE --compare /tmp/pages.txt              # pages that differ from those

SITE is a folder with content/ and output/ (the output's build cache makes
loading fast: build once first, e.g. `python3 -m generator build --content
SITE/content --out SITE/output`). Only the render is timed, not the loading,
planning, or writing of files. Passes after the first reuse the process's
memos (the card cache), as a preview's worker does; the first pass is a cold
build's. `--hashes`/`--compare` check that a change to the renderer leaves the
pages byte-identical.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generator import formats
from generator.build import Options, Report, load_site
from generator.kinds import plan_pages
from generator.render import View, make_environment
from generator.session import Session


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", type=Path)
    ap.add_argument("--runs", type=int, default=1, help="passes; each a fresh environment unless --warm")
    ap.add_argument("--warm", action="store_true", help="keep one environment (and its memos) for every pass")
    ap.add_argument("--hashes", type=Path, help="write 'address hash' of every page here")
    ap.add_argument("--compare", type=Path, help="compare every page's hash with such a file")
    args = ap.parse_args()

    options = Options(content=args.site / "content", out=args.site / "output")
    session, _ = Session.open(options.out)
    site = load_site(options, Report(), session)
    plans = plan_pages(site.library, site.settings, session)
    view = View(site.library, site.settings)
    env = make_environment(site.theme, site.settings)
    for plan in plans:  # templates compiled before timing
        if plan.template:
            env.get_template(plan.template)

    per_run: list[dict[str, float]] = []
    count = collections.Counter(p.kind for p in plans)
    hashes: dict[str, str] = {}
    for run in range(args.runs):
        if run and not args.warm:
            env = make_environment(site.theme, site.settings)
            for plan in plans:
                if plan.template:
                    env.get_template(plan.template)
            view = View(site.library, site.settings)
        spent: dict[str, float] = collections.defaultdict(float)
        for plan in plans:
            start = time.process_time()
            data = formats.write(env, view, plan)
            spent[plan.kind] += time.process_time() - start
            if run == 0 and (args.hashes or args.compare):
                hashes[plan.address] = hashlib.blake2b(data, digest_size=12).hexdigest()
        per_run.append(spent)
        print(f"run {run + 1}: {sum(spent.values()):.2f} s CPU", file=sys.stderr)

    kinds = sorted(count, key=lambda k: -statistics.median(r[k] for r in per_run))
    print(f"{'kind':16} {'pages':>6} {'CPU s':>7} {'ms/page':>9}   (median of {len(per_run)})")
    for kind in kinds:
        total = statistics.median(r[kind] for r in per_run)
        print(f"{kind:16} {count[kind]:6} {total:7.2f} {total / count[kind] * 1000:9.3f}")
    print(f"{'total':16} {len(plans):6} {statistics.median(sum(r.values()) for r in per_run):7.2f}")

    if args.hashes:
        args.hashes.write_text("".join(f"{a} {h}\n" for a, h in hashes.items()))
    if args.compare:
        old = dict(line.split(" ", 1) for line in args.compare.read_text().splitlines())
        old = {a: h.strip() for a, h in old.items()}
        differ = sorted(a for a in set(old) | set(hashes) if old.get(a) != hashes.get(a))
        print(f"{len(differ)} of {len(hashes)} pages differ", *differ[:20], sep="\n  ")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
