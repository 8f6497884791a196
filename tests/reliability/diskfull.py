"""A full disk, injected at the write call: the file object a writer got raises OSError(ENOSPC)
once it has written `budget` bytes, as a write(2) on a full filesystem does. No root needed (no
small filesystem to mount, no quota), so it runs on CI; the code under test sees the same error
it would see from the kernel."""

from __future__ import annotations

import errno
import io
import os


class DiskFull:
    """The budget shared by every file opened through it; `space_returns()` lifts it."""

    def __init__(self, budget: int):
        self.budget = budget
        self.full = True
        self.failed: list[str] = []

    def charge(self, name: str, size: int) -> None:
        if not self.full:
            return
        if size > self.budget:
            self.failed.append(name)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.budget -= size

    def space_returns(self) -> None:
        self.full = False

    def wrap(self, f, name: str) -> LimitedFile:
        return LimitedFile(f, self, name)


class LimitedFile:
    """A file object whose writes are charged to a DiskFull; everything else is the file's."""

    def __init__(self, f, disk: DiskFull, name: str):
        self._f, self._disk, self._name = f, disk, name

    def write(self, data) -> int:
        self._disk.charge(self._name, len(data.encode("utf-8") if isinstance(data, str) else data))
        return self._f.write(data)

    def __getattr__(self, attribute):
        return getattr(self._f, attribute)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()
        return False


class LimitedSpool(io.StringIO):
    """A text spool that, like a SpooledTemporaryFile spilled to a full disk, refuses to grow."""

    def __init__(self, disk: DiskFull, name: str):
        super().__init__()
        self.disk, self.name = disk, name

    def write(self, data: str) -> int:
        self.disk.charge(self.name, len(data.encode("utf-8")))
        return super().write(data)
