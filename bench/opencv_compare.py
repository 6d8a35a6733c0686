#!/usr/bin/env python3
"""SheetSight's hole measurement next to OpenCV's, on the same photos, in one run.

Renders the test material with ground truth (`sheetsight bench-inspect --out DIR`:
12 MP photos of real drawings at random poses, uneven light, blur, noise, JPEG), then
measures every hole of the exact, thin parts, in table millimetres:

- SheetSight: `sheetsight holes` (sub-pixel silhouette, circle fit, diameter from the
  light through the hole), the same measurement as OpenCV's;
- OpenCV: Otsu threshold, findContours, fitEllipse on each hole's contour; the centre
  and the mean axis mapped to table millimetres through the same calibration;
- and, for reference, the whole of `sheetsight inspect` (pose found, every feature
  measured and judged), its holes compared in the drawing's frame.

All run on one core (cv2.setNumThreads(1)); the times are of the measurement alone
(the PNG decode is not counted for any). Prints position and diameter error RMS
against the truth, and milliseconds per photo.

    python3 bench/opencv_compare.py [--photos 9] [--material DIR]

OpenCV comes from PyPI (opencv-python-headless, numpy), installed into
target/opencv-venv on first use.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opencv_env import ROOT, ensure_opencv  # noqa: E402

ensure_opencv()
import cv2  # noqa: E402
import numpy as np  # noqa: E402


class Table:
    """The calibration's camera model (table.json), pixels to table millimetres."""

    def __init__(self, path):
        t = json.load(open(path))
        self.h_inv = np.linalg.inv(np.array(t["homography"], dtype=float))
        d = t["distortion"]
        self.c = np.array(d["center_px"], dtype=float)
        self.s = d["scale_px"]
        self.k1, self.k2, self.p1, self.p2 = d["k1"], d["k2"], d["p1"], d["p2"]

    def _offset(self, x, y):
        r2 = x * x + y * y
        radial = self.k1 * r2 + self.k2 * r2 * r2
        return (x * radial + 2 * self.p1 * x * y + self.p2 * (r2 + 2 * x * x),
                y * radial + self.p1 * (r2 + 2 * y * y) + 2 * self.p2 * x * y)

    def to_table(self, px):
        px = np.asarray(px, dtype=float).reshape(-1, 2)
        xd, yd = (px[:, 0] - self.c[0]) / self.s, (px[:, 1] - self.c[1]) / self.s
        x, y = xd.copy(), yd.copy()
        for _ in range(20):
            dx, dy = self._offset(x, y)
            x, y = xd - dx, yd - dy
        u = np.stack([self.c[0] + self.s * x, self.c[1] + self.s * y, np.ones_like(x)])
        v = self.h_inv @ u
        return (v[:2] / v[2]).T

    def mm_per_px(self, px):
        a = self.to_table(px)
        bx = self.to_table((px[0] + 1, px[1]))
        by = self.to_table((px[0], px[1] + 1))
        return 0.5 * (np.linalg.norm(bx - a) + np.linalg.norm(by - a))


def to_table(placement, p):
    """Drawing point to table, by the true placement."""
    a = math.radians(placement["angle_deg"])
    x = -p[0] if placement["mirrored"] else p[0]
    return (placement["x_mm"] + math.cos(a) * x - math.sin(a) * p[1],
            placement["y_mm"] + math.sin(a) * x + math.cos(a) * p[1])


def to_drawing(placement, q):
    """Table point to drawing frame, by the true placement."""
    a = math.radians(placement["angle_deg"])
    dx, dy = q[0] - placement["x_mm"], q[1] - placement["y_mm"]
    x = math.cos(a) * dx + math.sin(a) * dy
    y = -math.sin(a) * dx + math.cos(a) * dy
    return (-x if placement["mirrored"] else x, y)


def opencv_holes(gray, table):
    """Centres and diameters (table frame) of the holes OpenCV finds, and the ms it took."""
    started = time.perf_counter()
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    found = []
    if hierarchy is not None:
        for contour, (_, _, _, parent) in zip(contours, hierarchy[0]):
            if parent < 0 or len(contour) < 6:
                continue  # the part's outline, or a speck
            (cx, cy), (a, b), _ = cv2.fitEllipse(contour)
            centre = table.to_table((cx, cy))[0]
            d_mm = 0.5 * (a + b) * table.mm_per_px((cx, cy))
            found.append(((centre[0], centre[1]), d_mm))
    return found, (time.perf_counter() - started) * 1000


def errors(measured, truth):
    """Position and diameter errors of each true hole ((x, y), d) matched within 1 mm."""
    pos, dia = [], []
    for at, d in truth:
        best = min(measured, key=lambda m: math.dist(m[0], at), default=None)
        if best is None or math.dist(best[0], at) > 1.0:
            continue
        pos.append(math.dist(best[0], at))
        dia.append(best[1] - d)
    return pos, dia


def rms(v):
    return math.sqrt(sum(x * x for x in v) / len(v)) if v else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=9, help="photos per sample drawing")
    parser.add_argument("--material", help="test material from `sheetsight bench-inspect --out` (default: render it)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    binary = os.path.join(ROOT, "target", "release", "sheetsight")
    subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "sheetsight"], cwd=ROOT)
    material = args.material or tempfile.mkdtemp(prefix="sheetsight-opencv-")
    if not args.material:
        subprocess.run([binary, "bench-inspect", "--photos", str(args.photos), "--out", material], check=False)
    table = Table(os.path.join(material, "table.json"))
    truth = [c for c in json.load(open(os.path.join(material, "truth.json"))) if c["exact"] and c["thickness_mm"] == 0]
    ours = {"pos": [], "dia": [], "ms": []}
    whole = {"pos": [], "dia": [], "ms": []}
    theirs = {"pos": [], "dia": [], "ms": []}
    calibration = os.path.join(material, "table.json")
    for case in truth:
        photo = os.path.join(material, case["photo"])
        in_drawing = [((h["x_mm"], h["y_mm"]), h["d_mm"]) for h in case["holes"]]
        on_table = [(to_table(case["placement"], at), d) for at, d in in_drawing]
        # SheetSight, the same measurement as OpenCV's.
        run = subprocess.run([binary, "holes", "--image", photo, "--calibration", calibration, "--json"],
                             capture_output=True, text=True)
        if run.returncode != 0:
            print(case["photo"], "SheetSight measured no holes:", run.stderr.strip())
            continue
        found = json.loads(run.stdout)
        p, d = errors([((h["x_mm"], h["y_mm"]), h["d_mm"]) for h in found["holes"]], on_table)
        ours["pos"] += p
        ours["dia"] += d
        ours["ms"].append(found["ms"])
        # SheetSight's whole inspection.
        report = os.path.join(material, case["photo"] + ".report.json")
        run = subprocess.run(
            [binary, "inspect", "--dxf", os.path.join(material, case["drawing"]), "--image", photo,
             "--calibration", calibration, "--report", report],
            capture_output=True, text=True)
        if run.returncode == 2:
            print(case["photo"], "SheetSight gave no verdict:", run.stderr.strip())
            continue
        whole["ms"].append(float(run.stdout.rsplit(";", 1)[1].split("ms")[0]))
        holes = [f for f in json.load(open(report))["features"] if f["kind"] == "hole" and f["measured"]]
        p, d = errors([((h["measured"]["x_mm"], h["measured"]["y_mm"]), h["measured"]["d_mm"]) for h in holes], in_drawing)
        whole["pos"] += p
        whole["dia"] += d
        # OpenCV.
        gray = cv2.imread(photo, cv2.IMREAD_GRAYSCALE)
        found, ms = opencv_holes(gray, table)
        p, d = errors(found, on_table)
        theirs["pos"] += p
        theirs["dia"] += d
        theirs["ms"].append(ms)
    print(f"\nHoles of {len(truth)} exact thin parts, 4000x3000 photos at 0.15 mm/px, one core, same images:")
    print(f"{'method':<58} {'holes':>5} {'position RMS mm':>16} {'diameter RMS mm':>16} {'ms/photo':>9}")
    for name, r in [("SheetSight `holes` (sub-pixel edges, light through the hole)", ours),
                    (f"OpenCV {cv2.__version__} (Otsu, findContours, fitEllipse)", theirs),
                    ("SheetSight `inspect` (pose, every feature, verdicts)", whole)]:
        print(f"{name:<58} {len(r['pos']):>5} {rms(r['pos']):>16.4f} {rms(r['dia']):>16.4f} {statistics.median(r['ms']):>9.1f}")
    better = rms(ours["pos"]) < rms(theirs["pos"]) and rms(ours["dia"]) < rms(theirs["dia"])
    faster = statistics.median(ours["ms"]) < statistics.median(theirs["ms"])
    print(f"SheetSight is {'more' if better else 'NOT more'} accurate and {'faster' if faster else 'NOT faster'}.")
    return 0 if better and faster else 1


if __name__ == "__main__":
    sys.exit(main())
