#!/usr/bin/env python3
"""Prints a wheel's requirements (Requires-Dist), one a line, leaving out the names given.

Usage: wheel_requirements.py WHEEL [--without NAME ...]

scripts/setup.sh and the image tests use it where the package index lacks a requirement
(jupyter-server-proxy on a machine with only a local mirror): the rest is installed as the
wheel declares it.
"""

import argparse
import sys
import zipfile
from email.parser import HeaderParser

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wheel")
    ap.add_argument("--without", action="append", default=[], metavar="NAME")
    args = ap.parse_args()
    without = {canonicalize_name(n) for n in args.without}
    with zipfile.ZipFile(args.wheel) as wheel:
        metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        headers = HeaderParser().parsestr(wheel.read(metadata).decode())
    for spec in headers.get_all("Requires-Dist") or []:
        if canonicalize_name(Requirement(spec).name) not in without:
            print(spec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
