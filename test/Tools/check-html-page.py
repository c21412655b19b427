#!/usr/bin/env python3
"""Opens a ChipMesh HTML page in headless Chromium, checks that the expected
elements are in its DOM, takes a screenshot and checks that it is not blank.

    check-html-page.py PAGE.html SCREENSHOT.png ID [ID ...]

Exits non-zero with a message on the first failed check.
"""

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking"]


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("chromium is not installed")


def run(args, profile):
    return subprocess.run([chromium()] + FLAGS + ["--user-data-dir=" + profile] + args,
                          capture_output=True, text=True, timeout=120)


def png_pixels(path):
    """Decodes an 8-bit RGB or RGBA PNG: (width, height, channels, rows)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("%s is not a PNG" % path)
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            if depth != 8 or color not in (2, 6):
                sys.exit("unexpected PNG format (depth %d, color %d)" % (depth, color))
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        previous = line
    return width, height, channels, rows


def main():
    page, screenshot, ids = sys.argv[1], sys.argv[2], sys.argv[3:]
    url = "file://" + os.path.abspath(page)
    with tempfile.TemporaryDirectory() as profile:
        dom = run(["--dump-dom", url], profile)
        if dom.returncode != 0:
            sys.exit("chromium --dump-dom failed: " + dom.stderr[-500:])
        for element in ids:
            if 'id="%s"' % element not in dom.stdout:
                sys.exit("the page has no element with id '%s'" % element)
        shot = run(["--screenshot=" + os.path.abspath(screenshot),
                    "--window-size=1200,900", url], profile)
        if shot.returncode != 0 or not os.path.exists(screenshot):
            sys.exit("chromium --screenshot failed: " + shot.stderr[-500:])
    width, height, channels, rows = png_pixels(screenshot)
    colored = distinct = 0
    seen = set()
    for line in rows[::4]:
        for x in range(0, width * channels, channels * 4):
            r, g, b = line[x], line[x + 1], line[x + 2]
            seen.add((r >> 4, g >> 4, b >> 4))
            if abs(r - g) > 30 or abs(g - b) > 30 or abs(r - b) > 30:
                colored += 1
    if colored < 50 or len(seen) < 5:
        sys.exit("the screenshot looks blank: %d coloured samples, %d colours"
                 % (colored, len(seen)))
    print("ok: %d elements found, %dx%d screenshot with %d coloured samples and %d colours"
          % (len(ids), width, height, colored, len(seen)))


if __name__ == "__main__":
    main()
