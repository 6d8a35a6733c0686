#!/usr/bin/env python3
"""The person detector run by onnxruntime: the reference the Rust decoding is held to,
and its speed next to SheetSight's own (tract), in one run.

    python3 bench/person_reference.py fixtures   # writes crates/people/tests/data/*.reference.json
    python3 bench/person_reference.py speed      # ms per inference at 320 and 416, one core,
                                                 # onnxruntime and `sheetsight bench-people`

`fixtures` letterboxes `vtest_frame300.jpg` to 416 x 416 (PIL bilinear, top-left,
zero padding), saves that input as a PNG, runs the vendored model in onnxruntime,
decodes it as the model's contract says (`crates/people/model/README.md`) and writes
the raw person scores of the strongest cells and the detections after NMS. The Rust
tests feed the same PNG to the Rust decoder (scores must agree to 1e-4) and the
original JPEG through the Rust letterbox (boxes must agree to IoU 0.5).

Needs numpy, pillow, onnxruntime and onnx from PyPI (`pip install onnxruntime pillow onnx`); run
by hand, never by the tests or CI.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "crates/people/model/nanodet_g_coco_dyn.onnx")
DATA = os.path.join(ROOT, "crates/people/tests/data")
SAMPLES = os.path.join(ROOT, "crates/people/samples")
MEAN = np.array([103.53, 116.28, 123.675], dtype=np.float32)
STD = np.array([57.375, 57.12, 58.395], dtype=np.float32)
STRIDES = (8, 16, 32)
BINS = 11


def session():
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(MODEL, opts, providers=["CPUExecutionProvider"])


def letterbox(img, size):
    scale = min(size / img.width, size / img.height)
    w, h = round(img.width * scale), round(img.height * scale)
    canvas = Image.new("RGB", (size, size))
    canvas.paste(img.resize((w, h), Image.BILINEAR), (0, 0))
    return canvas, scale


def tensor(rgb):
    bgr = np.asarray(rgb, dtype=np.float32)[:, :, ::-1]
    return ((bgr - MEAN) / STD).transpose(2, 0, 1)[None].copy()


def decode(outputs, size, threshold):
    boxes = []
    for s in STRIDES:
        cls, reg = outputs[f"cls_s{s}"][0], outputs[f"reg_s{s}"][0]
        cols = size // s
        for i in np.nonzero(cls[:, 0] >= threshold)[0]:
            bins = reg[i].reshape(4, BINS)
            e = np.exp(bins - bins.max(axis=1, keepdims=True))
            d = (e / e.sum(axis=1, keepdims=True) * np.arange(BINS)).sum(axis=1) * s
            cx, cy = (i % cols + 0.5) * s, (i // cols + 0.5) * s
            boxes.append(([cx - d[0], cy - d[1], cx + d[2], cy + d[3]], float(cls[i, 0])))
    return nms(boxes, 0.5)


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nms(boxes, limit):
    kept = []
    for box, score in sorted(boxes, key=lambda b: -b[1]):
        if all(iou(box, k[0]) <= limit for k in kept):
            kept.append((box, score))
    return kept


def run(sess, x):
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, {"input": x})))


def fixtures(_args):
    sess = session()
    size = 416
    img = Image.open(os.path.join(SAMPLES, "vtest_frame300.jpg")).convert("RGB")
    boxed, scale = letterbox(img, size)
    png = os.path.join(DATA, f"vtest_frame300_{size}.png")
    boxed.save(png)
    outputs = run(sess, tensor(boxed))
    strongest = []
    for s in STRIDES:
        col = outputs[f"cls_s{s}"][0][:, 0]
        for i in np.argsort(-col)[:20]:
            strongest.append({"stride": s, "cell": int(i), "score": float(col[i])})
    found = decode(outputs, size, 0.3)
    doc = {
        "source": "vtest_frame300.jpg",
        "input_px": size,
        "scale": scale,
        "runtime": f"onnxruntime {ort.__version__}, 1 thread",
        "strongest_cells": strongest,
        "detections": [
            {"box_input_px": [round(v, 4) for v in box], "box_frame_px": [round(v / scale, 3) for v in box], "score": score}
            for box, score in found
        ],
    }
    out = os.path.join(DATA, f"vtest_frame300_{size}.reference.json")
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"{len(found)} detections at >= 0.3 ({sum(1 for _, s in found if s >= 0.5)} at >= 0.5) -> {out}")
    bad_models()


def bad_models():
    """Two tiny models that break the contract, for the refusal tests (needs `onnx`)."""
    import onnx
    from onnx import TensorProto, helper

    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "H", "W"])

    def save(name, outputs):
        nodes = [helper.make_node("GlobalAveragePool", ["input"], [n]) for n in outputs]
        outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs]
        model = helper.make_model(helper.make_graph(nodes, name, [inp], outs), opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        onnx.save(model, os.path.join(DATA, f"{name}.onnx"))

    # The right names with shapes [1, 3, 1, 1]; and another detector's single output.
    save("wrong_output_shapes", [f"{k}_s{s}" for k in ("cls", "reg") for s in STRIDES])
    save("other_outputs", ["boxes"])


def speed(args):
    sess = session()
    img = Image.open(os.path.join(SAMPLES, "vtest_frame300.jpg")).convert("RGB")
    ours = os.path.join(ROOT, "target/release/sheetsight")
    if not os.path.exists(ours):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "sheetsight"], cwd=ROOT, check=True)
    for size in (320, 416):
        x = tensor(letterbox(img, size)[0])
        run(sess, x)
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            run(sess, x)
            times.append((time.perf_counter() - t) * 1e3)
        ort_ms = statistics.median(times)
        res = subprocess.run(
            ["taskset", "-c", "0", ours, "bench-people", "--input-px", str(size), "--runs", str(args.runs), "--json"],
            cwd=ROOT, check=True, capture_output=True, text=True)
        tract_ms = json.loads(res.stdout)["ms_per_inference_median"]
        print(f"input {size}: onnxruntime {ort_ms:.1f} ms, tract {tract_ms:.1f} ms, ratio {tract_ms / ort_ms:.2f}x")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fixtures")
    sp = sub.add_parser("speed")
    sp.add_argument("--runs", type=int, default=20)
    args = p.parse_args()
    os.sched_setaffinity(0, {0})
    {"fixtures": fixtures, "speed": speed}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
