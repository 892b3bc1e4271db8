"""One `intake local` per state directory: a lock file naming its holder, held with flock.

The pid in the file says who holds the directory; the OS lock says whether they still do. A
process killed with -9 leaves its pid behind but loses its flock with its last file descriptor,
so its lock is told from a live holder's and taken over.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = "lock"


class StateDirInUse(Exception):
    """Another live process holds the state directory."""

    def __init__(self, state_dir: Path, holder: str) -> None:
        self.state_dir = state_dir
        self.holder = holder
        super().__init__(f"{state_dir} is in use by {holder}; stop it, or choose another --state-dir")


@dataclass
class StateLock:
    """The held lock: `previous_holder` names the process whose lock was taken over, if any."""

    state_dir: Path
    fd: int
    previous_holder: str | None = None

    def release(self) -> None:
        """Empties the file (a clean stop leaves no holder to take over from), then drops the flock.

        The file stays: unlinking it would let a process that opened it just before hold a lock
        on a file no later process sees.
        """
        if self.fd < 0:
            return
        try:
            os.ftruncate(self.fd, 0)
        finally:
            os.close(self.fd)
            self.fd = -1


def hold(state_dir: Path, command: list[str] | None = None, name: str = LOCK_NAME) -> StateLock:
    """Take `state_dir` for this process (for its life, or until `release`), with the lock file
    `name` in it (another name locks something else kept there: `sam-env.json`'s directory).

    Raises StateDirInUse, having written nothing, when a live process holds it.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(_read(fd))
        os.close(fd)
        raise StateDirInUse(state_dir, holder or "another process") from None
    previous = _holder(_read(fd))
    line = shlex.join(["intake", *(sys.argv[1:] if command is None else command)])
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n{line}\n".encode(), 0)
    os.fsync(fd)
    return StateLock(state_dir, fd, previous)


def _read(fd: int) -> str:
    return os.pread(fd, 4096, 0).decode(errors="replace")


def _holder(text: str) -> str | None:
    """`process PID (COMMAND)` from the lock file's text; None when it names no one."""
    pid, _, command = text.partition("\n")
    if not pid.strip().isdigit():
        return None
    command = command.strip()
    return f"process {pid.strip()}" + (f" ({command})" if command else "")
