#!/usr/bin/env python3
"""powerloss.py: a persistence model of one duo-ckpt commit.

    powerloss.py [-v] [--no-fsync] [--max-pending N] ROOT BEFORE TRACE
        EXPECT -- RECOVER...

ROOT is the directory that holds everything duo-ckpt touched (state and
output directories); BEFORE is a copy of it taken before the traced
commit, whose content is taken as durable.  TRACE is `strace -f -y -xx -s BIG` output of the commit.
EXPECT names the records that must end up published exactly once after
recovery: one record per line, compared as lines.  RECOVER is the command
(run with ROOT as working directory, "@ROOT@" replaced by the image's
path) that recovers and finishes: it must exit 0 and leave every record
published once.

The model is POSIX's, strictly: written data is durable only after fsync
or fdatasync of that file; a directory entry (create, mkdir, rename,
unlink) is durable only after fsync of the directory holding it; a
rename is atomic.  After each traced system call the script takes every
subset of the operations not yet durable (applied in their original
order; an entry whose directory does not exist in the image is lost
with it) and builds the on-disk image a power cut at that instant could
leave.  Each distinct image is written at ROOT (state files hold
absolute paths), recovered by RECOVER, and the
published records are checked: every EXPECT line exactly once, nothing
else, every file ending in LF, no *.log file that is partial.

--no-fsync drops every fsync from the trace: the model's check of
itself, since a commit that never syncs must lose records in some image.

Images are enumerated exhaustively while a point has at most
--max-pending pending operations (default 14, 16384 subsets); a point with
more is reported and fails, since a commit that leaves that much unsynced
is itself the bug.  Exit 0 when every image passes, 1 otherwise.
"""
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile

O_CREAT = 0o100
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_EXCL = 0o200

FLAGS = {"O_CREAT": O_CREAT, "O_TRUNC": O_TRUNC, "O_APPEND": O_APPEND,
         "O_EXCL": O_EXCL}


def unhex(s):
    """strace -xx string body to bytes."""
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == "\\":
            c = s[i + 1]
            if c == "x":
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
            m = {"n": 10, "t": 9, "r": 13, "\\": 92, '"': 34, "v": 11,
                 "f": 12, "0": 0}
            out.append(m.get(c, ord(c)))
            i += 2
            continue
        out.append(ord(s[i]))
        i += 1
    return bytes(out)


LINE = re.compile(r'^(?:\[pid\s+\d+\]\s+|\d+\s+)?(\w+)\((.*)\)\s+=\s+(-?\d+|\?)')
FDPATH = re.compile(r'^(-?\d+|AT_FDCWD)<([^>]*)>')


def split_args(s):
    """Split strace arguments at top-level commas."""
    args, cur, depth, q, i = [], [], 0, False, 0
    while i < len(s):
        c = s[i]
        if q:
            cur.append(c)
            if c == "\\":
                cur.append(s[i + 1])
                i += 2
                continue
            if c == '"':
                q = False
        elif c == '"':
            q = True
            cur.append(c)
        elif c in "[{(<":
            depth += 1
            cur.append(c)
        elif c in "]})>":
            depth -= 1
            cur.append(c)
        elif c == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if cur:
        args.append("".join(cur).strip())
    return args


def strarg(a):
    a = a.strip()
    if a.endswith("..."):
        raise SystemExit("powerloss: trace string cut short: raise -s")
    assert a.startswith('"') and a.endswith('"'), a
    return unhex(a[1:-1])


def fdarg(a):
    m = FDPATH.match(a)
    if not m:
        return None, None
    return m.group(1), unhex(m.group(2)).decode("utf-8", "surrogateescape")


def parse(trace, root, cwd=None):
    """The trace as a list of operations on paths under root; relative
    paths are taken from cwd (default root), the traced process's."""
    ops = []
    pos = {}       # (pid-less) fd path -> offset is tracked per open fd
    fds = {}       # fd number -> [path, offset, append]
    pending = {}   # for unfinished/resumed lines
    root = os.path.realpath(root)
    cwd = os.path.realpath(cwd or root)

    def under(p):
        return p == root or p.startswith(root + "/")

    def rel(p):
        return os.path.relpath(p, root)

    def atpath(dirarg, patharg):
        p = strarg(patharg).decode("utf-8", "surrogateescape")
        if p.startswith("/"):
            return os.path.normpath(p)
        d = fdarg(dirarg)[1] if dirarg is not None else None
        if d is None:
            d = cwd
        return os.path.normpath(os.path.join(d, p))

    lines = open(trace, encoding="latin-1").read().split("\n")
    joined = []
    for ln in lines:
        m = re.match(r'^(?:\[pid\s+(\d+)\]\s+|(\d+)\s+)?(.*)$', ln)
        pid = m.group(1) or m.group(2) or "0"
        body = m.group(3)
        if body.endswith("<unfinished ...>"):
            pending[pid] = body[:-len("<unfinished ...>")]
            continue
        r = re.match(r'^<\.\.\. (\w+) resumed>(.*)$', body)
        if r:
            body = pending.pop(pid, "") + r.group(2)
        joined.append(body)
    for body in joined:
        m = LINE.match(body)
        if not m:
            continue
        call, argstr, ret = m.group(1), m.group(2), m.group(3)
        if ret == "?" or int(ret) < 0:
            continue
        ret = int(ret)
        a = split_args(argstr)
        if call in ("openat", "open", "creat"):
            if call == "openat":
                path = atpath(a[0], a[1])
                flags = a[2]
            elif call == "open":
                path = atpath(None, a[0])
                flags = a[1]
            else:
                path = atpath(None, a[0])
                flags = "O_CREAT|O_WRONLY|O_TRUNC"
            fl = 0
            for f in flags.split("|"):
                fl |= FLAGS.get(f.strip(), 0)
            fds[ret] = [path, 0, bool(fl & O_APPEND)]
            if under(path):
                ops.append(("open", rel(path), fl))
        elif call in ("write", "pwrite64", "pwrite"):
            fd, path = fdarg(a[0])
            if path is None or not under(path):
                continue
            data = strarg(a[1])[:ret]
            fdn = int(fd)
            st = fds.get(fdn, [path, 0, False])
            if call == "write":
                if st[2]:
                    off = None          # append: at the end
                else:
                    off = st[1]
                    st[1] += ret
            else:
                off = int(a[3])
            ops.append(("write", rel(path), off, data))
        elif call == "lseek":
            fd, path = fdarg(a[0])
            if fd is not None and int(fd) in fds:
                fds[int(fd)][1] = ret
        elif call == "ftruncate":
            fd, path = fdarg(a[0])
            if path is not None and under(path):
                ops.append(("truncate", rel(path), int(a[1])))
        elif call in ("fsync", "fdatasync"):
            fd, path = fdarg(a[0])
            if path is not None and under(path):
                ops.append(("fsync", rel(path)))
        elif call in ("rename", "renameat", "renameat2"):
            if call == "rename":
                src, dst = atpath(None, a[0]), atpath(None, a[1])
            else:
                src, dst = atpath(a[0], a[1]), atpath(a[2], a[3])
            if under(src) or under(dst):
                ops.append(("rename", rel(src), rel(dst)))
        elif call in ("link", "linkat"):
            if call == "link":
                src, dst = atpath(None, a[0]), atpath(None, a[1])
            else:
                src, dst = atpath(a[0], a[1]), atpath(a[2], a[3])
            if under(dst):
                ops.append(("link", rel(src), rel(dst)))
        elif call in ("unlink", "unlinkat"):
            p = atpath(None, a[0]) if call == "unlink" else atpath(a[0], a[1])
            if under(p):
                isdir = call == "unlinkat" and "AT_REMOVEDIR" in a[2]
                ops.append(("rmdir" if isdir else "unlink", rel(p)))
        elif call == "rmdir":
            p = atpath(None, a[0])
            if under(p):
                ops.append(("rmdir", rel(p)))
        elif call in ("mkdir", "mkdirat"):
            p = atpath(None, a[0]) if call == "mkdir" else atpath(a[0], a[1])
            if under(p):
                ops.append(("mkdir", rel(p)))
        elif call == "close":
            try:
                fds.pop(int(a[0].split("<")[0]), None)
            except ValueError:
                pass
    return ops


class FS:
    """Names to inodes, inodes to content; directories are name sets."""

    def __init__(self):
        self.ino = {}      # ino -> bytearray, or None for a directory
        self.name = {}     # path -> ino
        self.next = 1

    def copy(self):
        f = FS()
        f.ino = {k: (None if v is None else bytearray(v))
                 for k, v in self.ino.items()}
        f.name = dict(self.name)
        f.next = self.next
        return f

    def new(self, isdir):
        i = self.next
        self.next += 1
        self.ino[i] = None if isdir else bytearray()
        return i


def load(root):
    fs = FS()
    fs.name["."] = fs.new(True)
    for dp, dn, fn in os.walk(root):
        for d in dn:
            fs.name[os.path.relpath(os.path.join(dp, d), root)] = fs.new(True)
        for f in fn:
            p = os.path.join(dp, f)
            i = fs.new(False)
            with open(p, "rb") as fp:
                fs.ino[i] = bytearray(fp.read())
            fs.name[os.path.relpath(p, root)] = i
    return fs


def parent(p):
    d = os.path.dirname(p)
    return d if d else "."


# Applying an operation.  Data operations act on inodes; entry
# operations on names.  Each op, once applied to the live file system,
# is recorded with the inode it touched so that an image can apply it
# to its own (durable) copy.

def apply_live(fs, op):
    """Apply op to the live fs; return the op in inode terms."""
    k = op[0]
    if k == "open":
        p, fl = op[1], op[2]
        if p in fs.name:
            i = fs.name[p]
            if fl & O_TRUNC and fs.ino[i] is not None:
                fs.ino[i] = bytearray()
                return [("data", i, ("truncate", 0))]
            return []
        if fl & O_CREAT:
            i = fs.new(False)
            fs.name[p] = i
            return [("entry", parent(p), ("link", p, i, False))]
        return []
    if k == "mkdir":
        i = fs.new(True)
        fs.name[op[1]] = i
        return [("entry", parent(op[1]), ("link", op[1], i, True))]
    if k == "write":
        p, off, data = op[1], op[2], op[3]
        i = fs.name[p]
        b = fs.ino[i]
        if off is None:
            off = len(b)
        if len(b) < off:
            b.extend(b"\0" * (off - len(b)))
        b[off:off + len(data)] = data
        return [("data", i, ("write", off, data))]
    if k == "truncate":
        i = fs.name[op[1]]
        b = fs.ino[i]
        n = op[2]
        if len(b) > n:
            del b[n:]
        else:
            b.extend(b"\0" * (n - len(b)))
        return [("data", i, ("truncate", n))]
    if k == "rename":
        s, d = op[1], op[2]
        i = fs.name.pop(s)
        fs.name[d] = i
        # A directory rename moves everything below it.
        for q in [q for q in fs.name if q.startswith(s + "/")]:
            fs.name[d + q[len(s):]] = fs.name.pop(q)
        return [("entry", (parent(s), parent(d)), ("rename", s, d))]
    if k == "link":
        i = fs.name[op[1]]
        fs.name[op[2]] = i
        return [("entry", parent(op[2]), ("link", op[2], i, False))]
    if k in ("unlink", "rmdir"):
        fs.name.pop(op[1], None)
        return [("entry", parent(op[1]), ("unlink", op[1]))]
    return []


def apply_image(fs, rec):
    kind, where, what = rec
    if kind == "data":
        i = where
        if i not in fs.ino:
            # Data synced before its name: the inode exists, unnamed
            # until the entry is durable too.
            fs.ino[i] = bytearray()
        if fs.ino[i] is None:
            return
        b = fs.ino[i]
        if what[0] == "write":
            off, data = what[1], what[2]
            if len(b) < off:
                b.extend(b"\0" * (off - len(b)))
            b[off:off + len(data)] = data
        else:
            n = what[1]
            if len(b) > n:
                del b[n:]
            else:
                b.extend(b"\0" * (n - len(b)))
        return
    w = what
    if w[0] == "link":
        p, i, isdir = w[1], w[2], w[3]
        if i not in fs.ino:
            fs.ino[i] = None if isdir else bytearray()
        fs.name[p] = i
    elif w[0] == "rename":
        s, d = w[1], w[2]
        if s in fs.name:
            fs.name[d] = fs.name.pop(s)
            for q in [q for q in fs.name if q.startswith(s + "/")]:
                fs.name[d + q[len(s):]] = fs.name.pop(q)
    elif w[0] == "unlink":
        fs.name.pop(w[1], None)


def materialize(fs, dest):
    """Write the image: only names whose every ancestor exists."""
    def reachable(p):
        d = parent(p)
        while d != ".":
            if d not in fs.name or fs.ino.get(fs.name[d], 1) is not None:
                return False
            d = parent(d)
        return True
    names = sorted(fs.name)
    for p in names:
        if p == "." or not reachable(p):
            continue
        i = fs.name[p]
        full = os.path.join(dest, p)
        if fs.ino[i] is None:
            os.makedirs(full, exist_ok=True)
    for p in names:
        if p == "." or not reachable(p):
            continue
        i = fs.name[p]
        if fs.ino[i] is not None:
            full = os.path.join(dest, p)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as fp:
                fp.write(fs.ino[i])


def image_key(fs):
    def reachable(p):
        d = parent(p)
        while d != ".":
            if d not in fs.name or fs.ino.get(fs.name[d], 1) is not None:
                return False
            d = parent(d)
        return True
    return tuple(sorted(
        (p, None if fs.ino[i] is None else bytes(fs.ino[i]))
        for p, i in fs.name.items() if p != "." and reachable(p)))


def check(img, expect, recover, verbose):
    """Recover a copy of img; return None when right, else why."""
    cmd = [c.replace("@ROOT@", img) for c in recover]
    r = subprocess.run(cmd, cwd=img, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if r.returncode != 0:
        return "recovery exited %d: %s" % (
            r.returncode, r.stderr.decode(errors="replace").strip()[-300:])
    got = []
    for dp, dn, fn in os.walk(img):
        for f in fn:
            if not f.endswith(".log"):
                continue
            with open(os.path.join(dp, f), "rb") as fp:
                b = fp.read()
            if b and not b.endswith(b"\n"):
                return "%s does not end in LF" % f
            got.extend(x for x in b.split(b"\n") if x)
    want = set(expect)
    seen = {}
    for g in got:
        if g not in want:
            continue    # health and other non-record lines
        seen[g] = seen.get(g, 0) + 1
    dup = [g for g, n in seen.items() if n > 1]
    lost = [w for w in expect if w not in seen]
    if dup or lost:
        return "%d duplicated, %d lost (e.g. %r)" % (
            len(dup), len(lost), (dup or lost)[0][:60])
    return None


def main():
    args = sys.argv[1:]
    verbose = False
    nofsync = False
    maxpend = 14
    while args and args[0].startswith("-") and args[0] != "--":
        if args[0] == "-v":
            verbose = True
            args = args[1:]
        elif args[0] == "--no-fsync":
            nofsync = True
            args = args[1:]
        elif args[0] == "--max-pending":
            maxpend = int(args[1])
            args = args[2:]
        else:
            raise SystemExit(__doc__)
    if "--" not in args:
        raise SystemExit(__doc__)
    k = args.index("--")
    root, before, trace, expectf = args[:k]
    recover = args[k + 1:]
    expect = [x for x in open(expectf, "rb").read().split(b"\n") if x]

    ops = parse(trace, root)
    if nofsync:
        # The model's own check: with no fsync at all, it must find
        # images that lose records.
        ops = [o for o in ops if o[0] != "fsync"]
    if not [o for o in ops if o[0] in ("write", "rename")]:
        print("powerloss: the trace holds no write or rename under %s"
              % root)
        return 1
    live = load(before)
    durable = live.copy()
    pend = []          # records not yet durable, in order
    points = 0
    images = 0
    failures = 0
    tried = set()
    pass
    try:
        for n, op in enumerate(ops):
            if op[0] == "fsync":
                p = op[1]
                if p not in live.name:
                    continue
                i = live.name[p]
                if live.ino[i] is None:
                    # A directory: its entries become durable.
                    keep = []
                    for r in pend:
                        if r[0] == "entry":
                            w = r[1] if isinstance(r[1], tuple) else (r[1],)
                            if p in w:
                                # A rename between two directories is
                                # durable once either is synced (Linux
                                # journals it whole); it is atomic.
                                apply_image(durable, r)
                                continue
                        keep.append(r)
                    pend = keep
                else:
                    keep = []
                    for r in pend:
                        if r[0] == "data" and r[1] == i:
                            apply_image(durable, r)
                            continue
                        keep.append(r)
                    pend = keep
            else:
                pend.extend(apply_live(live, op))
            points += 1
            if len(pend) > maxpend:
                if nofsync:
                    continue    # the self-check needs only some images
                print("point %d (%s): %d operations pending, more than %d"
                      % (n, op[0], len(pend), maxpend))
                failures += 1
                continue
            for mask in range(1 << len(pend)):
                img = durable.copy()
                for b, r in enumerate(pend):
                    if mask >> b & 1:
                        apply_image(img, r)
                key = image_key(img)
                if key in tried:
                    continue
                tried.add(key)
                images += 1
                # At ROOT itself: state files hold absolute paths.
                d = root
                shutil.rmtree(d, ignore_errors=True)
                os.makedirs(d)
                materialize(img, d)
                why = check(d, expect, recover, verbose)
                if why is not None:
                    failures += 1
                    print("point %d after %s %s, mask %x: %s" % (
                        n, op[0], op[1], mask, why))
                    if verbose:
                        for r in pend:
                            print("   pending:", r[0], r[1],
                                  r[2][0] if r[0] == "data" else r[2][:2])
    finally:
        pass
    print("powerloss: %d operations, %d crash points, %d distinct images, "
          "%d failures" % (len(ops), points, images, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
