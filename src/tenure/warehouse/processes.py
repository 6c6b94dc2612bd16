"""Several processes on one embedded DuckDB warehouse: one writer at a time, any number of readers.

DuckDB lets one process hold a database file read-write, or many processes hold it read-only,
never both. tenure keeps the two apart with files next to the warehouse (`tenure.duckdb`):

    tenure.duckdb              the main file: opened read-write only by a writer, for one command
    tenure.duckdb.lock         the project write lock (flock); holds who writes, since when
    tenure.duckdb.snapshots/   read-only copies published after each write:
        000012.duckdb            the snapshots (the current one and the one before it)
        CURRENT                  the pointer: which snapshot is current, and of which main file state

Writers (ingest, refresh, materialize, the coming worker, the server's upload and refresh) take
the lock, open the main file, write, CHECKPOINT, close it, copy it to a new snapshot and switch
the pointer atomically (rename). Readers (the server, read-only commands) open the newest
snapshot read-only; the server stats the pointer per request and reopens when it changed.
Snapshots older than the previous one are unlinked: a process still reading one keeps it open
(POSIX keeps an unlinked open file), so nobody reads a half-copied or vanished file.

The choice and its measured cost are in docs/operations.md. This module knows files only; the
Warehouse opens them (tenure.warehouse.connection)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tenure.errors import WarehouseError

FICLONE = 0x40049409  # Linux ioctl: share the extents of a file (btrfs, XFS, bcachefs); else we copy
POLL_SECONDS = 0.2
KEEP_SNAPSHOTS = 2  # the current snapshot and the one before it (a reader may have just read the pointer)


def command_name(argv: list[str] | None = None) -> str:
    """What this process is doing, for the lock holder's message: `refresh`, `metrics materialize`."""
    argv = list(sys.argv if argv is None else argv)
    if not argv:
        return "python"
    words = []
    for arg in argv[1:3]:
        if arg.startswith("-") or not arg.replace("-", "_").isidentifier():  # an option, a path: the command ended
            break
        words.append(arg)
    return " ".join(words) or Path(argv[0]).name


@dataclass(frozen=True)
class Holder:
    """Who holds a project write lock."""

    command: str
    pid: int
    since: datetime
    host: str = ""

    def describe(self) -> str:
        here = self.host in ("", socket.gethostname())
        where = "" if here else f" on {self.host}"
        return f"{self.command}, pid {self.pid}{where}, since {self.since.astimezone(timezone.utc):%H:%M:%S} UTC"


class _Held:
    """One process's hold on one lock file: shared by the threads of the process, reentrant
    within a thread (a command that opens the warehouse twice doesn't wait on itself)."""

    def __init__(self) -> None:
        self.thread_lock = threading.RLock()
        self.fd: int | None = None
        self.depth = 0


_held: dict[str, _Held] = {}
_held_guard = threading.Lock()


class WriteLock:
    """The project write lock of one warehouse file: at most one writing process at a time.

    `acquire(wait=None)` waits as long as it takes (telling the user who holds it, once);
    `wait=0` fails at once; `wait=s` fails after s seconds. Failing raises WarehouseError with a
    message that says who writes and what to do. The lock is flock(2): the OS drops it when the
    holder exits or is killed, so a crashed writer never leaves the project locked."""

    def __init__(self, warehouse_file: Path | str, command: str | None = None):
        self.target = Path(warehouse_file)
        self.path = self.target.with_name(self.target.name + ".lock")
        self.command = command or command_name()
        key = str(self.path.resolve())
        with _held_guard:
            self._held = _held.setdefault(key, _Held())
        self._mine = 0

    def holder(self) -> Holder | None:
        """Who holds the lock now, as the holder wrote it (None if free or unreadable)."""
        try:
            data = json.loads(self.path.read_text() or "null")
            return Holder(data["command"], int(data["pid"]), datetime.fromisoformat(data["since"]), data.get("host", ""))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _busy_message(self, action: str) -> str:
        who = self.holder()
        if who is None:
            by = "another tenure process"
        elif who.pid == os.getpid():
            by = f"another write in this process ({who.describe()})"
        else:
            by = f"another tenure process ({who.describe()})"
        return f"{by} is writing {self.target}; {action}"

    def acquire(self, wait: float | None = None, notify: Callable[[str], None] | None = None, *,
                reentrant: bool = True) -> WriteLock:
        """Take the lock. `reentrant=False` treats a hold by this same thread as busy too."""
        if wait is not None and wait == float("inf"):
            wait = None
        deadline = None if wait is None else time.monotonic() + wait
        if not self._held.thread_lock.acquire(timeout=-1 if wait is None else max(wait, 0)):
            raise WarehouseError(self._busy_message("retry when it finishes"))
        if not reentrant and self._held.depth:
            self._held.thread_lock.release()
            raise WarehouseError(self._busy_message("retry when it finishes"))
        try:
            if self._held.depth == 0:
                self._held.fd = self._lock_file(deadline, notify)
            self._held.depth += 1
            self._mine += 1
        except BaseException:
            self._held.thread_lock.release()
            raise
        return self

    def _lock_file(self, deadline: float | None, notify: Callable[[str], None] | None) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise WarehouseError(f"cannot open the write lock {self.path} ({err.strerror}): writing to "
                                 f"{self.target} needs write access to its folder") from None
        told = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as err:
                    if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise
                if deadline is not None and time.monotonic() >= deadline:
                    raise WarehouseError(self._busy_message("retry when it finishes"))
                if not told:
                    (notify or _stderr)(self._busy_message("waiting… (Ctrl-C to stop)"))
                    told = True
                time.sleep(POLL_SECONDS)
            me = {"command": self.command, "pid": os.getpid(), "host": socket.gethostname(),
                  "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(me).encode(), 0)
            return fd
        except BaseException:
            os.close(fd)
            raise

    def release(self) -> None:
        if not self._mine:
            return
        self._mine -= 1
        self._held.depth -= 1
        if self._held.depth == 0 and self._held.fd is not None:
            fd, self._held.fd = self._held.fd, None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the descriptor drops the flock
        self._held.thread_lock.release()

    @property
    def held(self) -> bool:
        return self._mine > 0

    @property
    def outermost(self) -> bool:
        """True when this is the process's only hold (releasing it frees the file lock)."""
        return self._held.depth == 1 and self._mine == 1

    def __enter__(self) -> WriteLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def file_stamp(path: Path) -> list[int]:
    """What changes when DuckDB writes: size and mtime of the file and of its WAL (0s if absent)."""
    out = []
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            st = p.stat()
            out += [st.st_size, st.st_mtime_ns]
        except FileNotFoundError:
            out += [0, 0]
    return out


@dataclass(frozen=True)
class Published:
    """One published snapshot, as the pointer names it."""

    seq: int
    path: Path
    source: list[int]  # file_stamp of the main file it was copied from
    published_at: str
    seconds: float
    method: str


class Snapshots:
    """The published read-only copies of one warehouse file, and the pointer to the newest."""

    def __init__(self, warehouse_file: Path | str):
        self.main = Path(warehouse_file)
        self.dir = self.main.with_name(self.main.name + ".snapshots")
        self.pointer = self.dir / "CURRENT"

    def token(self) -> tuple[int, int, int] | None:
        """A cheap fingerprint of the pointer (one stat): it changes when a snapshot is published."""
        try:
            st = self.pointer.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def current(self) -> Published | None:
        try:
            data = json.loads(self.pointer.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return Published(int(data["seq"]), self.dir / data["file"], list(data["source"]), data["published_at"],
                         float(data.get("seconds", 0)), data.get("method", ""))

    def stale(self) -> bool:
        """True when the main file holds writes no snapshot has (or nothing is published yet)."""
        cur = self.current()
        return cur is None or not cur.path.exists() or cur.source != file_stamp(self.main)

    def publish(self, lock: WriteLock) -> Published:
        """Copy the main file (checkpointed and closed by the caller, who holds `lock`) to a new
        snapshot, then switch the pointer to it atomically and drop old snapshots."""
        if not lock.held:
            raise WarehouseError(f"publishing {self.main} needs the project write lock")
        started = time.perf_counter()
        self.dir.mkdir(parents=True, exist_ok=True)
        cur = self.current()
        seq = (cur.seq if cur else 0) + 1
        target = self.dir / f"{seq:06d}.duckdb"
        tmp = self.dir / f"{seq:06d}.duckdb.tmp-{os.getpid()}"
        source = file_stamp(self.main)
        method = copy_file(self.main, tmp)
        wal = self.main.with_name(self.main.name + ".wal")
        if wal.exists() and wal.stat().st_size:  # commits a checkpoint could not fold in yet
            copy_file(wal, tmp.with_name(target.name + ".wal"))
        os.replace(tmp, target)
        pointer = {"seq": seq, "file": target.name, "source": source,
                   "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   "seconds": round(time.perf_counter() - started, 3), "method": method}
        ptmp = self.dir / f"CURRENT.tmp-{os.getpid()}"
        with open(ptmp, "w") as f:
            json.dump(pointer, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(ptmp, self.pointer)
        _fsync_dir(self.dir)
        self.collect_garbage(seq)
        return self.current()  # type: ignore[return-value]

    def collect_garbage(self, current_seq: int) -> list[str]:
        """Unlink snapshots older than the one before `current_seq` and leftovers of interrupted
        copies. Readers that still have one open keep reading it until they reopen."""
        removed = []
        for p in self.dir.iterdir():
            name = p.name
            if ".tmp-" in name:
                pid = name.rsplit("-", 1)[-1]
                if pid.isdigit() and pid_alive(int(pid)) and int(pid) != os.getpid():
                    continue
            elif not (name.endswith((".duckdb", ".duckdb.wal")) and name[:6].isdigit()
                      and int(name[:6]) <= current_seq - KEEP_SNAPSHOTS):
                continue
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed.append(name)
        return removed


def copy_file(src: Path, dst: Path) -> str:
    """Copy src to dst, durably: a reflink (FICLONE) where the file system shares extents, else
    a kernel-side copy. Returns which was used."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        try:
            fcntl.ioctl(fout.fileno(), FICLONE, fin.fileno())
            method = "reflink"
        except OSError:
            shutil.copyfileobj(fin, fout) if not hasattr(os, "sendfile") else _sendfile(fin, fout)
            method = "copy"
        fout.flush()
        os.fsync(fout.fileno())
    return method


def _sendfile(fin, fout) -> None:
    size = os.fstat(fin.fileno()).st_size
    offset = 0
    while offset < size:
        sent = os.sendfile(fout.fileno(), fin.fileno(), offset, min(size - offset, 1 << 30))
        if sent == 0:
            break
        offset += sent


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id runs on this host (one owned by another user counts)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
