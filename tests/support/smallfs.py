"""A small filesystem for store faults: a ``tmpfs`` of a given size mounted on a folder, that a test
can fill up (disk full) or remount read-only. Needs root (``mount``); the suite runs as root, as
``make test`` on the dev machine does — a non-root run fails here with that said, it does not skip.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


class SmallFs:
    """``with SmallFs(folder, size_kib=512) as fs:`` — ``fs.fill()``, ``fs.free()``, ``fs.read_only()``,
    ``fs.read_write()``; unmounted on exit (the files go with it)."""

    def __init__(self, mountpoint: Path, size_kib: int = 1024):
        self.path = Path(mountpoint)
        self.size_kib = size_kib
        self._filler = self.path / "filler.bin"

    def __enter__(self) -> "SmallFs":
        if os.geteuid() != 0:
            raise RuntimeError("store fault tests mount a tmpfs: run them as root")
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size_kib}k,mode=0755", "tmpfs", str(self.path)],
                       check=True, timeout=30)
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=True, timeout=30)

    def fill(self) -> int:
        """Write a filler file until the filesystem is full; returns its size in bytes."""
        written = 0
        with open(self._filler, "ab", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
                    written += 4096
            except OSError:
                pass
        return written

    def free(self) -> None:
        """Remove the filler file: the space is back."""
        self._filler.unlink(missing_ok=True)

    def read_only(self) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(self.path)], check=True, timeout=30)

    def read_write(self) -> None:
        subprocess.run(["mount", "-o", "remount,rw", str(self.path)], check=True, timeout=30)
