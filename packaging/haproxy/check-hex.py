#!/usr/bin/env python3
"""Prints the HAProxy `tcp-check send-binary` line that authenticates a
health check to suitd: the MessagePack of [0, 1, "auth", [TOKEN]].

usage: check-hex.py TOKEN_FILE
The token is read as suitd reads it (trailing blanks and newlines dropped).
Keep the resulting haproxy.cfg as private as the token file itself.
"""
import os
import sys

# One MessagePack codec for all the repository's Python: the fault tests'.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "fault"))
import mpack  # noqa: E402


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip())
    with open(sys.argv[1], "rb") as f:
        token = f.read().rstrip(b" \t\r\n").decode()
    if not token:
        sys.exit("check-hex: %s: empty token" % sys.argv[1])
    print("tcp-check send-binary " + mpack.packb([0, 1, "auth", [token]]).hex())


if __name__ == "__main__":
    main()
