#!/usr/bin/env python3
"""SheetSight's chessboard calibration next to OpenCV's, on the same photos, in one run.

Renders boards with ground truth (`sheetsight bench-calibrate --out DIR`: 12 MP photos of
a printed 14x10 board on the backlit table, through the test camera with its tilt and
distortion, varied light, vignetting, blur, noise, every third photo a JPEG), then on
each photo:

- SheetSight: `sheetsight bench-calibrate` itself (saddle points, sub-pixel refinement,
  the table model: homography with radial and tangential distortion);
- OpenCV: findChessboardCorners (adaptive threshold, normalised image) and cornerSubPix
  (11x11 window, 30 iterations or 0.001 px), then calibrateCamera on the one view (the
  principal point fixed at the centre, square pixels, k1, k2, p1, p2 free: the same
  freedom as SheetSight's model).

Both are scored the same way: each corner against the true one (px), and the model
against the true camera over the whole view (21 x 16 pixels, each seeing a known point
of the board's plane). All on one core (cv2.setNumThreads(1)); times are of the
detection and fit alone (the PNG decode is not counted).

    python3 bench/opencv_chessboard.py [--boards 9] [--seed 29] [--material DIR]

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


def rms(values):
    return math.sqrt(sum(v * v for v in values) / len(values)) if values else float("nan")


def opencv_board(gray, board):
    """Corners (px) and the calibrated camera of one photo, the ms it took, or None."""
    cols, rows, square = board["columns"], board["rows"], board["square_mm"]
    started = time.perf_counter()
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH + cv2.CALIB_CB_NORMALIZE_IMAGE
    ok, corners = cv2.findChessboardCorners(gray, (cols, rows), flags=flags)
    if not ok:
        return None, (time.perf_counter() - started) * 1000
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.001)
    corners = cv2.cornerSubPix(gray, corners, (11, 11), (-1, -1), criteria)
    detect_ms = (time.perf_counter() - started) * 1000
    # Object points in the board's true frame: each corner matched to the nearest truth.
    truth = np.array([[c[2], c[3]] for c in board["corners"]])
    found = corners.reshape(-1, 2)
    index = [int(np.argmin(np.linalg.norm(truth - p, axis=1))) for p in found]
    objp = np.array([[board["corners"][k][0] * square, board["corners"][k][1] * square, 0.0] for k in index],
                    dtype=np.float32)
    h, w = gray.shape
    f0 = 1000.0 / 0.15
    K = np.array([[f0, 0, (w - 1) / 2], [0, f0, (h - 1) / 2], [0, 0, 1]], dtype=np.float64)
    cflags = (cv2.CALIB_USE_INTRINSIC_GUESS + cv2.CALIB_FIX_PRINCIPAL_POINT + cv2.CALIB_FIX_ASPECT_RATIO
              + cv2.CALIB_FIX_K3)
    started = time.perf_counter()
    rms_px, K, dist, rvecs, tvecs = cv2.calibrateCamera([objp], [found.astype(np.float32)], (w, h), K, None,
                                                       flags=cflags)
    fit_ms = (time.perf_counter() - started) * 1000
    return (found, index, rms_px, K, dist, rvecs[0], tvecs[0]), detect_ms + fit_ms


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--boards", type=int, default=9)
    parser.add_argument("--seed", type=int, default=29)
    parser.add_argument("--material", help="an existing `bench-calibrate --out` folder")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    material = args.material or tempfile.mkdtemp(prefix="sheetsight-boards-")
    if not args.material:
        binary = os.path.join(ROOT, "target", "release", "sheetsight")
        if not os.path.exists(binary):
            subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "sheetsight"], cwd=ROOT)
        print(subprocess.run([binary, "bench-calibrate", "--boards", str(args.boards), "--seed", str(args.seed),
                              "--out", material], check=False, capture_output=True, text=True).stdout)
    truth = json.load(open(os.path.join(material, "truth.json")))
    ours = {"corner": [], "model_rms": [], "model_max": [], "ms": []}
    theirs = {"corner": [], "model_rms": [], "model_max": [], "ms": [], "missed": 0}
    for board in truth:
        gray = cv2.imread(os.path.join(material, board["photo"]), cv2.IMREAD_GRAYSCALE)
        ours["model_rms"].append(board["sheetsight"]["model_error_rms_px"])
        ours["model_max"].append(board["sheetsight"]["model_error_max_px"])
        ours["ms"].append(board["sheetsight"]["ms"])
        result, ms = opencv_board(gray, board)
        theirs["ms"].append(ms)
        if result is None:
            theirs["missed"] += 1
            print(f"{board['photo']}: OpenCV found no board")
            continue
        found, index, _, K, dist, rvec, tvec = result
        truth_px = np.array([[c[2], c[3]] for c in board["corners"]])
        theirs["corner"].extend(np.linalg.norm(found - truth_px[index], axis=1).tolist())
        view = np.array(board["view"], dtype=np.float64)
        obj = np.column_stack([view[:, 2], view[:, 3], np.zeros(len(view))])
        projected, _ = cv2.projectPoints(obj, rvec, tvec, K, dist)
        errors = np.linalg.norm(projected.reshape(-1, 2) - view[:, :2], axis=1)
        theirs["model_rms"].append(rms(errors.tolist()))
        theirs["model_max"].append(float(errors.max()))
        print(f"{board['photo']}: OpenCV model vs truth {rms(errors.tolist()):.4f} px RMS, "
              f"SheetSight {board['sheetsight']['model_error_rms_px']:.4f}; {ms:.0f} ms vs "
              f"{board['sheetsight']['ms']:.0f} ms")
    print(f"On {len(truth)} boards (one core):")
    print(f"  OpenCV:     corners {rms(theirs['corner']):.4f} px RMS from the truth; model over the view: median "
          f"{statistics.median(theirs['model_rms']) if theirs['model_rms'] else float('nan'):.4f} px RMS, worst "
          f"{max(theirs['model_max'], default=float('nan')):.3f} px; {statistics.median(theirs['ms']):.0f} ms "
          f"median; {theirs['missed']} boards not found")
    print(f"  SheetSight: model over the view: median {statistics.median(ours['model_rms']):.4f} px RMS, worst "
          f"{max(ours['model_max']):.3f} px; {statistics.median(ours['ms']):.0f} ms median "
          f"(corner error: printed by bench-calibrate above)")


if __name__ == "__main__":
    main()
