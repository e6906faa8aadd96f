"""Minimal MessagePack codec for suitd's packaging tests and HAProxy helpers.

Only the standard library is needed (Debian 12 may lack python3-msgpack).
Covers what MessagePack-RPC with suitd uses: nil, bool, int, float, str, bin,
array, map.
"""
import struct


def pack(o):
    """Returns the MessagePack bytes of o."""
    if o is None:
        return b"\xc0"
    if o is True:
        return b"\xc3"
    if o is False:
        return b"\xc2"
    if isinstance(o, int):
        if 0 <= o < 0x80:
            return bytes([o])
        if -32 <= o < 0:
            return struct.pack("b", o)
        if 0 <= o <= 0xFFFFFFFF:
            return b"\xce" + struct.pack(">I", o)
        if 0 <= o:
            return b"\xcf" + struct.pack(">Q", o)
        return b"\xd3" + struct.pack(">q", o)
    if isinstance(o, float):
        return b"\xcb" + struct.pack(">d", o)
    if isinstance(o, str):
        b = o.encode()
        n = len(b)
        if n < 32:
            return bytes([0xA0 | n]) + b
        if n < 0x100:
            return b"\xd9" + bytes([n]) + b
        if n < 0x10000:
            return b"\xda" + struct.pack(">H", n) + b
        return b"\xdb" + struct.pack(">I", n) + b
    if isinstance(o, (bytes, bytearray)):
        n = len(o)
        if n < 0x100:
            return b"\xc4" + bytes([n]) + bytes(o)
        return b"\xc6" + struct.pack(">I", n) + bytes(o)
    if isinstance(o, (list, tuple)):
        n = len(o)
        head = bytes([0x90 | n]) if n < 16 else b"\xdc" + struct.pack(">H", n)
        return head + b"".join(pack(x) for x in o)
    if isinstance(o, dict):
        n = len(o)
        head = bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n)
        return head + b"".join(pack(k) + pack(v) for k, v in o.items())
    raise TypeError("cannot pack %r" % type(o))


class Incomplete(Exception):
    """The buffer ends before the object does: read more."""


def unpack(buf, pos=0):
    """Decodes one object at buf[pos:]; returns (object, next position).
    Raises Incomplete when buf holds only part of it."""
    def need(n):
        if pos + n > len(buf):
            raise Incomplete()

    need(1)
    b = buf[pos]
    pos += 1
    if b < 0x80:
        return b, pos
    if b >= 0xE0:
        return b - 0x100, pos
    if 0x80 <= b <= 0x8F:
        return _map(buf, pos, b & 0x0F)
    if 0x90 <= b <= 0x9F:
        return _array(buf, pos, b & 0x0F)
    if 0xA0 <= b <= 0xBF:
        n = b & 0x1F
        need(n)
        return buf[pos:pos + n].decode(errors="replace"), pos + n
    fixed = {0xC0: None, 0xC2: False, 0xC3: True}
    if b in fixed:
        return fixed[b], pos
    sized = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
             0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q",
             0xCA: ">f", 0xCB: ">d"}
    if b in sized:
        fmt = sized[b]
        n = struct.calcsize(fmt)
        need(n)
        return struct.unpack_from(fmt, buf, pos)[0], pos + n
    lens = {0xD9: (">B", "s"), 0xDA: (">H", "s"), 0xDB: (">I", "s"),
            0xC4: (">B", "b"), 0xC5: (">H", "b"), 0xC6: (">I", "b"),
            0xDC: (">H", "a"), 0xDD: (">I", "a"), 0xDE: (">H", "m"), 0xDF: (">I", "m")}
    if b in lens:
        fmt, kind = lens[b]
        k = struct.calcsize(fmt)
        need(k)
        n = struct.unpack_from(fmt, buf, pos)[0]
        pos += k
        if kind == "a":
            return _array(buf, pos, n)
        if kind == "m":
            return _map(buf, pos, n)
        need(n)
        raw = bytes(buf[pos:pos + n])
        return (raw.decode(errors="replace") if kind == "s" else raw), pos + n
    raise ValueError("unsupported MessagePack byte 0x%02x" % b)


def _array(buf, pos, n):
    out = []
    for _ in range(n):
        o, pos = unpack(buf, pos)
        out.append(o)
    return out, pos


def _map(buf, pos, n):
    out = {}
    for _ in range(n):
        k, pos = unpack(buf, pos)
        v, pos = unpack(buf, pos)
        out[k] = v
    return out, pos
