#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Open a profile in speedscope (the npm package, run in headless Chromium) and print what it shows.

    speedscope-view.py PROFILE [--view sandwich|left-heavy|time-ordered] [--screenshot PNG]

speedscope's own importers decide the format (folded stacks, `perf script` text, Trace Event
JSON, ...). The profile is served unchanged with speedscope from 127.0.0.1 (speedscope fetches it
by #profileURL=), Chromium renders the page, and the text of the rendered DOM is printed one item a
line: the profile name, and in the sandwich view each symbol with its total and self weight.
Exit 0 when speedscope rendered a profile, 1 when it showed its error page, 77 when Chromium or
speedscope is missing (tests skip).
"""
import argparse
import functools
import html
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
RELEASE = os.path.join(HERE, "node_modules", "speedscope", "dist", "release")


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def dom_items(out):
    out = re.sub(r"<style.*?</style>", "", out, flags=re.S)
    items = [html.unescape(x).strip() for x in re.split(r"<[^>]+>", out)]
    return [x for x in items if x]


def table_rows(out):
    items = dom_items(out)
    if "Symbol Name" not in items:
        return []
    rows = items[items.index("Symbol Name") + 1:]
    return [rows[i:i + 3] for i in range(0, len(rows) - 2, 3)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("profile")
    ap.add_argument("--view", default="sandwich")
    ap.add_argument("--screenshot")
    ap.add_argument("--size", default="1600,2400")
    ap.add_argument("--table", action="store_true",
                    help="sandwich view: print SYMBOL<TAB>TOTAL<TAB>SELF as speedscope shows them")
    a = ap.parse_args()
    browser = chromium()
    if not browser or not os.path.isfile(os.path.join(RELEASE, "index.html")):
        print("speedscope-view: needs chromium and tests/consumers/node_modules/speedscope "
              "(scripts/install-deps.sh)", file=sys.stderr)
        return 77
    with tempfile.TemporaryDirectory() as d:
        os.symlink(RELEASE, os.path.join(d, "speedscope"))
        name = os.path.basename(a.profile)
        shutil.copyfile(a.profile, os.path.join(d, name))
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=d))
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        url = "http://127.0.0.1:%d/speedscope/index.html#profileURL=/%s&view=%s" % (
            srv.server_address[1], name, a.view)
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--user-data-dir=" + os.path.join(d, "profile"), "--window-size=" + a.size]
        if a.screenshot:
            cmd.append("--screenshot=" + os.path.abspath(a.screenshot))
        else:
            cmd.append("--dump-dom")
        # Chromium dumps the DOM when its virtual-time budget runs out; on a loaded machine the
        # profile may not have been fetched and rendered by then: try again (up to 3 times)
        out = ""
        for attempt in range(3):
            budget = "--virtual-time-budget=%d" % (15000 << attempt)  # 15, 30, 60 s
            try:
                r = subprocess.run(cmd + [budget, "--enable-logging=stderr", "--v=0", url],
                                   capture_output=True, text=True, timeout=90)
            except subprocess.TimeoutExpired:
                print("speedscope-view: chromium did not finish within 90 s", file=sys.stderr)
                continue
            out = r.stdout
            if os.environ.get("SPEEDSCOPE_DEBUG"):
                print("\n".join(l for l in r.stderr.splitlines() if "CONSOLE" in l),
                      file=sys.stderr)
            # the sandwich table is complete once rows follow its header: a header alone means the
            # budget ran out mid-render (seen on a loaded CI machine); try again
            if a.screenshot or a.view != "sandwich" or len(table_rows(out)) > 0:
                break
        srv.shutdown()
    if a.screenshot:
        return 0
    items = dom_items(out)
    failed = any("Something went wrong" in x for x in items)
    rows = table_rows(out)
    if a.table and rows:
        for row in rows:
            total, self_, name = (re.sub(r" \([^)]*\)$", "", x) for x in row)
            print("%s\t%s\t%s" % (name, total, self_))
    else:
        print("\n".join(items))
    if a.view == "sandwich" and not rows:
        print("speedscope-view: the sandwich table has no rows after 3 tries", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
