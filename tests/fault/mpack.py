"""Minimal MessagePack for the fault tests and the fuzz corpus generator.

Python 3 standard library only (no pip on the CI machines).  Covers what
suitd speaks: nil, bool, int, float64, str, bin, array, map.  The decoder
is incremental: feed() bytes, then next() returns one object or raises
NeedMore, so a test can read replies off a socket split anywhere.
"""
import struct


class NeedMore(Exception):
    pass


def packb(o):
    out = bytearray()
    _pack(o, out)
    return bytes(out)


def _pack(o, out):
    if o is None:
        out.append(0xC0)
    elif o is True:
        out.append(0xC3)
    elif o is False:
        out.append(0xC2)
    elif isinstance(o, int):
        if 0 <= o < 0x80:
            out.append(o)
        elif -32 <= o < 0:
            out.append(o & 0xFF)
        elif 0 <= o <= 0xFF:
            out += b"\xcc" + struct.pack(">B", o)
        elif 0 <= o <= 0xFFFF:
            out += b"\xcd" + struct.pack(">H", o)
        elif 0 <= o <= 0xFFFFFFFF:
            out += b"\xce" + struct.pack(">I", o)
        elif o >= 0:
            out += b"\xcf" + struct.pack(">Q", o)
        elif o >= -0x80:
            out += b"\xd0" + struct.pack(">b", o)
        elif o >= -0x8000:
            out += b"\xd1" + struct.pack(">h", o)
        elif o >= -0x80000000:
            out += b"\xd2" + struct.pack(">i", o)
        else:
            out += b"\xd3" + struct.pack(">q", o)
    elif isinstance(o, float):
        out += b"\xcb" + struct.pack(">d", o)
    elif isinstance(o, str):
        b = o.encode("utf-8")
        n = len(b)
        if n < 32:
            out.append(0xA0 | n)
        elif n <= 0xFF:
            out += b"\xd9" + struct.pack(">B", n)
        elif n <= 0xFFFF:
            out += b"\xda" + struct.pack(">H", n)
        else:
            out += b"\xdb" + struct.pack(">I", n)
        out += b
    elif isinstance(o, (bytes, bytearray)):
        n = len(o)
        if n <= 0xFF:
            out += b"\xc4" + struct.pack(">B", n)
        elif n <= 0xFFFF:
            out += b"\xc5" + struct.pack(">H", n)
        else:
            out += b"\xc6" + struct.pack(">I", n)
        out += o
    elif isinstance(o, (list, tuple)):
        n = len(o)
        if n < 16:
            out.append(0x90 | n)
        elif n <= 0xFFFF:
            out += b"\xdc" + struct.pack(">H", n)
        else:
            out += b"\xdd" + struct.pack(">I", n)
        for x in o:
            _pack(x, out)
    elif isinstance(o, dict):
        n = len(o)
        if n < 16:
            out.append(0x80 | n)
        elif n <= 0xFFFF:
            out += b"\xde" + struct.pack(">H", n)
        else:
            out += b"\xdf" + struct.pack(">I", n)
        for k, v in o.items():
            _pack(k, out)
            _pack(v, out)
    else:
        raise TypeError("cannot pack %r" % type(o))


class Unpacker:
    """Incremental decoder: feed(bytes), then next() until NeedMore."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data

    def next(self):
        obj, end = _unpack(self.buf, 0)
        del self.buf[:end]
        return obj


def unpackb(data):
    obj, end = _unpack(bytes(data), 0)
    if end != len(data):
        raise ValueError("trailing bytes")
    return obj


def _need(buf, pos, n):
    if pos + n > len(buf):
        raise NeedMore()


def _unpack(buf, pos):
    _need(buf, pos, 1)
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
        return _str(buf, pos, b & 0x1F)
    fixed = {0xC0: None, 0xC2: False, 0xC3: True}
    if b in fixed:
        return fixed[b], pos
    ints = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
            0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q",
            0xCA: ">f", 0xCB: ">d"}
    if b in ints:
        n = struct.calcsize(ints[b])
        _need(buf, pos, n)
        return struct.unpack_from(ints[b], buf, pos)[0], pos + n
    lens = {0xD9: (">B", "s"), 0xDA: (">H", "s"), 0xDB: (">I", "s"),
            0xC4: (">B", "b"), 0xC5: (">H", "b"), 0xC6: (">I", "b"),
            0xDC: (">H", "a"), 0xDD: (">I", "a"), 0xDE: (">H", "m"), 0xDF: (">I", "m")}
    if b in lens:
        fmt, kind = lens[b]
        n = struct.calcsize(fmt)
        _need(buf, pos, n)
        length = struct.unpack_from(fmt, buf, pos)[0]
        pos += n
        if kind == "s":
            return _str(buf, pos, length)
        if kind == "b":
            _need(buf, pos, length)
            return bytes(buf[pos:pos + length]), pos + length
        if kind == "a":
            return _array(buf, pos, length)
        return _map(buf, pos, length)
    raise ValueError("unsupported MessagePack byte 0x%02x" % b)


def _str(buf, pos, n):
    _need(buf, pos, n)
    return bytes(buf[pos:pos + n]).decode("utf-8", "replace"), pos + n


def _array(buf, pos, n):
    out = []
    for _ in range(n):
        o, pos = _unpack(buf, pos)
        out.append(o)
    return out, pos


def _map(buf, pos, n):
    out = {}
    for _ in range(n):
        k, pos = _unpack(buf, pos)
        v, pos = _unpack(buf, pos)
        out[k if not isinstance(k, list) else tuple(k)] = v
    return out, pos
