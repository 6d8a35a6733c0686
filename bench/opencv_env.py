"""OpenCV for the comparison scripts: imported as is, or from opencv-python-headless and
numpy installed from PyPI into target/opencv-venv on first use (the script is then run
again with that venv's Python)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "opencv-venv")


def ensure_opencv():
    try:
        import cv2  # noqa: F401
        import numpy  # noqa: F401
        return
    except ImportError:
        pass
    python = os.path.join(VENV, "bin", "python3")
    if os.environ.get("SHEETSIGHT_OPENCV_VENV") != "1":
        if not os.path.exists(python):
            print("installing opencv-python-headless and numpy into", VENV, file=sys.stderr)
            subprocess.check_call([sys.executable, "-m", "venv", VENV])
            subprocess.check_call([python, "-m", "pip", "install", "-q", "opencv-python-headless", "numpy"])
        env = dict(os.environ, SHEETSIGHT_OPENCV_VENV="1")
        os.execve(python, [python] + sys.argv, env)
    sys.exit("cannot import cv2 even in " + VENV)
