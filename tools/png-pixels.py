#!/usr/bin/env python3
"""Prints the SHA-256 of each PNG's image data (IHDR and IDAT chunks), not its text chunks: the pixels a generation
made, whatever metadata (infotext, the job record) the file carries. Usage: png-pixels.py FILE.png..."""
import hashlib
import struct
import sys

for path in sys.argv[1:]:
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    digest, at = hashlib.sha256(), 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind in (b"IHDR", b"IDAT"):
            digest.update(kind + data[at + 8:at + 8 + length])
        at += 12 + length
    print(f"{digest.hexdigest()}  {path.rsplit('/', 1)[-1]}")
