#!/usr/bin/env python3
"""Full-screen motion load for benchmarking a VNC desktop (e.g. Xtigervnc).

Repaints the whole screen of $DISPLAY at a steady rate with a horizontally
scrolling, photo-like image (smooth gradients plus moderate detail), so every
pixel row changes each frame and the VNC server must send the full screen.
Runs until SIGTERM/SIGINT, then exits 0. Python 3 stdlib only (ctypes+libX11).
With --echo it paints nothing until the pointer moves or a key is pressed, and then
a small square where the pointer is: an application's answer to input, for timing
input round trips.
Usage: DISPLAY=:1 python3 motion.py [--fps 60] [--step 16] [--report] [--echo]
"""
import argparse
import ctypes
import math
import signal
import sys
import time
from ctypes import (POINTER, c_char, c_char_p, c_int, c_long, c_uint,
                    c_ulong, c_void_p)

ZPIXMAP, INPUT_OUTPUT = 2, 1
KEY_PRESS_MASK, POINTER_MOTION_MASK = 1 << 0, 1 << 6
CW_BACK_PIXMAP, CW_OVERRIDE_REDIRECT = 1 << 0, 1 << 9


class XSetWindowAttributes(ctypes.Structure):
    _fields_ = [('background_pixmap', c_ulong), ('background_pixel', c_ulong),
                ('border_pixmap', c_ulong), ('border_pixel', c_ulong),
                ('bit_gravity', c_int), ('win_gravity', c_int),
                ('backing_store', c_int), ('backing_planes', c_ulong),
                ('backing_pixel', c_ulong), ('save_under', c_int),
                ('event_mask', c_long), ('do_not_propagate_mask', c_long),
                ('override_redirect', c_int), ('colormap', c_ulong),
                ('cursor', c_ulong)]


def load_xlib():
    x = ctypes.CDLL('libX11.so.6')
    sigs = {
        'XOpenDisplay': (c_void_p, [c_char_p]),
        'XDefaultScreen': (c_int, [c_void_p]),
        'XRootWindow': (c_ulong, [c_void_p, c_int]),
        'XDisplayWidth': (c_int, [c_void_p, c_int]),
        'XDisplayHeight': (c_int, [c_void_p, c_int]),
        'XDefaultDepth': (c_int, [c_void_p, c_int]),
        'XDefaultVisual': (c_void_p, [c_void_p, c_int]),
        'XDefaultGC': (c_void_p, [c_void_p, c_int]),
        'XCreateWindow': (c_ulong, [c_void_p, c_ulong, c_int, c_int, c_uint,
                                    c_uint, c_uint, c_int, c_uint, c_void_p,
                                    c_ulong, POINTER(XSetWindowAttributes)]),
        'XMapRaised': (c_int, [c_void_p, c_ulong]),
        'XCreateImage': (c_void_p, [c_void_p, c_void_p, c_uint, c_int, c_int,
                                    c_void_p, c_uint, c_uint, c_int, c_int]),
        'XPutImage': (c_int, [c_void_p, c_ulong, c_void_p, c_void_p, c_int,
                              c_int, c_int, c_int, c_uint, c_uint]),
        'XSync': (c_int, [c_void_p, c_int]),
        'XSelectInput': (c_int, [c_void_p, c_ulong, c_long]),
        'XNextEvent': (c_int, [c_void_p, c_void_p]),
        'XSetForeground': (c_int, [c_void_p, c_void_p, c_ulong]),
        'XFillRectangle': (c_int, [c_void_p, c_ulong, c_void_p, c_int, c_int,
                                   c_uint, c_uint]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(x, name)
        fn.restype, fn.argtypes = res, args
    return x


def render(w, h, bands=32):
    """Return 2w x h BGRX pixels, periodic in x with period w."""
    base = []
    for i in range(bands):
        ph = math.pi * i / bands
        row = bytearray(w * 4)
        for px in range(w):
            t = 2 * math.pi * px / w
            edge = 14 if (px * 7 // w + i // 6) % 2 else -14
            r = 120 + 70 * math.sin(t + ph) + 12 * math.sin(37 * t) + edge
            g = 120 + 60 * math.sin(2 * t - ph) + 18 * math.sin(11 * t + ph)
            b = 120 + 80 * math.cos(t + 2 * ph) + 9 * math.sin(97 * t - ph)
            row[px * 4:px * 4 + 3] = bytes(
                (min(255, max(0, int(v))) for v in (b, g, r)))
        base.append(bytes(row))
    tables = [bytes(min(255, v * (60 + k) // 100) for v in range(256))
              for k in range(61)]
    parts = []
    for y in range(h):
        s = (y * 3 + int(60 * math.sin(y / 53.0))) % w * 4
        row = base[y * bands // h]
        row = (row[s:] + row[:s]).translate(
            tables[int(30 + 30 * math.sin(math.pi * y / h * 3))])
        parts.append(row + row)
    return bytearray(b''.join(parts))


def echo(x, dpy, win, gc):
    """Paints a 16x16 square at the pointer on each motion or key event."""
    # Blocked in XNextEvent, Python would never run a handler: SIGTERM ends us.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    x.XSelectInput(dpy, win, KEY_PRESS_MASK | POINTER_MOTION_MASK)
    x.XSync(dpy, 0)
    event = (c_long * 24)()
    n = 0
    while True:
        x.XNextEvent(dpy, event)
        # XMotionEvent and XKeyEvent (LP64): x and y are the ints at 64 and 68.
        ex, ey = ctypes.cast(ctypes.addressof(event) + 64,
                             POINTER(c_int * 2)).contents
        n += 1
        # A colour of its own each time: the same colour on the same spot would
        # change no pixel, and the VNC server would send nothing.
        x.XSetForeground(dpy, gc, n * 0x9E3779 & 0xFFFFFF)
        x.XFillRectangle(dpy, win, gc, ex, ey, 16, 16)
        x.XSync(dpy, 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--fps', type=float, default=60.0)
    ap.add_argument('--step', type=int, default=16,
                    help='horizontal pixels scrolled per frame')
    ap.add_argument('--report', action='store_true',
                    help='print achieved frames per second to stderr at exit')
    ap.add_argument('--echo', action='store_true',
                    help='no motion: answer each input event with a square')
    opts = ap.parse_args()

    running = [True]

    def stop(_signum, _frame):
        running[0] = False
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    x = load_xlib()
    dpy = x.XOpenDisplay(None)
    if not dpy:
        print('motion.py: cannot open display', file=sys.stderr)
        return 1
    scr = x.XDefaultScreen(dpy)
    w, h = x.XDisplayWidth(dpy, scr), x.XDisplayHeight(dpy, scr)
    depth = x.XDefaultDepth(dpy, scr)
    if depth != 24:
        print(f'motion.py: need depth 24, got {depth}', file=sys.stderr)
        return 1
    attrs = XSetWindowAttributes(background_pixmap=0, override_redirect=1)
    win = x.XCreateWindow(dpy, x.XRootWindow(dpy, scr), 0, 0, w, h, 0,
                          depth, INPUT_OUTPUT, x.XDefaultVisual(dpy, scr),
                          CW_BACK_PIXMAP | CW_OVERRIDE_REDIRECT,
                          ctypes.byref(attrs))
    x.XMapRaised(dpy, win)
    x.XSync(dpy, 0)
    if opts.echo:
        return echo(x, dpy, win, x.XDefaultGC(dpy, scr))

    data = render(w, h)
    buf = (c_char * len(data)).from_buffer(data)  # must outlive the image
    img = x.XCreateImage(dpy, x.XDefaultVisual(dpy, scr), depth, ZPIXMAP, 0,
                         ctypes.addressof(buf), 2 * w, h, 32, 0)
    gc = x.XDefaultGC(dpy, scr)

    period = 1.0 / opts.fps
    frames = 0
    start = deadline = time.monotonic()
    while running[0]:
        off = frames * opts.step % w
        x.XPutImage(dpy, win, gc, img, off, 0, 0, 0, w, h)
        x.XSync(dpy, 0)
        frames += 1
        deadline += period
        now = time.monotonic()
        if deadline > now:
            time.sleep(deadline - now)
        elif now - deadline > period:
            deadline = now - period  # behind: keep at most one frame of debt
    if opts.report:
        elapsed = max(time.monotonic() - start, 1e-6)
        print(f'motion.py: {frames} frames in {elapsed:.2f} s = '
              f'{frames / elapsed:.1f} fps ({w}x{h})', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
