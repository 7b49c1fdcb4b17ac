"""Fail when an executed notebook that draws figures shows no image, or shows one figure twice.

A cell that calls ``.show(`` (a registered figure) must produce exactly one ``image/png`` output per call; the
notebook as a whole must contain at least one image if it draws any figure.
"""

from __future__ import annotations

import json
import re
import sys


def check(path: str) -> list[str]:
    nb = json.load(open(path))
    problems = []
    total_images = 0
    draws = 0
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        src = "".join(cell.get("source", []))
        calls = len(re.findall(r"\.show\(", src))
        images = sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
        total_images += images
        draws += calls
        if calls and images < calls:
            problems.append(f"{path}: cell {i} calls .show() {calls}x but shows {images} image(s)")
        if calls and images > calls:
            problems.append(f"{path}: cell {i} shows {images} images for {calls} figure(s): a figure is shown twice")
    if draws and not total_images:
        problems.append(f"{path}: draws figures but produced no image")
    return problems


if __name__ == "__main__":
    found = [p for f in sys.argv[1:] for p in check(f)]
    print("\n".join(found) or f"notebook figures ok ({len(sys.argv) - 1} notebooks)")
    sys.exit(1 if found else 0)
