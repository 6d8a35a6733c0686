#!/usr/bin/python3
"""A real RTSP camera for SheetSight's tests: GStreamer's RTSP server from Debian.

Usage: rtsp_server.py PORT MOUNT=SOURCE [MOUNT=SOURCE ...] [--user U --password P]

SOURCE is an MP4 file (served as it is, without re-encoding: H.264 or H.265),
`testsrc:WxH@FPS` (a live test pattern encoded with x264), or `jpeg:WxH@FPS`
(RTP/JPEG). Prints `ready` on standard output once it listens; stops on SIGTERM.
"""
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def launch_line(source):
    if source.startswith("testsrc:") or source.startswith("jpeg:"):
        kind, spec = source.split(":", 1)
        size, fps = spec.split("@")
        w, h = size.split("x")
        caps = f"video/x-raw,format=I420,width={w},height={h},framerate={fps}/1"
        if kind == "jpeg":
            return f"( videotestsrc is-live=true pattern=ball ! {caps} ! jpegenc ! rtpjpegpay name=pay0 )"
        return (
            f"( videotestsrc is-live=true pattern=ball ! {caps} ! "
            f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} ! "
            "rtph264pay name=pay0 pt=96 config-interval=1 )"
        )
    if source.endswith(".h265.mp4") or source.endswith(".hevc.mp4"):
        return (
            f"( filesrc location={source} ! qtdemux ! h265parse ! "
            "rtph265pay name=pay0 pt=96 config-interval=1 )"
        )
    return (
        f"( filesrc location={source} ! qtdemux ! h264parse ! "
        "rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def main():
    args = sys.argv[1:]
    user = password = None
    if "--user" in args:
        i = args.index("--user")
        user = args[i + 1]
        del args[i : i + 2]
    if "--password" in args:
        i = args.index("--password")
        password = args[i + 1]
        del args[i : i + 2]
    port, mounts = args[0], args[1:]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    if user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "camera")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password or ""), token)
        server.set_auth(auth)
    points = server.get_mount_points()
    for m in mounts:
        mount, source = m.split("=", 1)
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_line(source))
        # One pipeline per client: a shared media aborts the server now and then
        # (gst_rtsp_media_get_rates: assertion failed) when two clients set it up at once,
        # which is exactly what several cameras of one test do.
        factory.set_shared(False)
        if user is not None:
            permissions = GstRtspServer.RTSPPermissions()
            permissions.add_permission_for_role("camera", "media.factory.access", True)
            permissions.add_permission_for_role("camera", "media.factory.construct", True)
            factory.set_permissions(permissions)
        points.add_factory("/" + mount.lstrip("/"), factory)
    if server.attach(None) == 0:
        print(f"cannot listen on port {port}", file=sys.stderr)
        sys.exit(1)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print("ready", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
