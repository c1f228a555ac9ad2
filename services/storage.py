"""Files under DATA_DIR with unguessable names. The database keeps paths relative to it."""
from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path


class Storage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        for folder in ('videos', 'thumbnails', 'references', 'tmp'):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        self.sweep_temp()

    def sweep_temp(self, older_than_seconds: float = 3600) -> None:
        """Remove temp files left by a process that died mid-write. Only old ones: another
        replica sharing DATA_DIR may be writing the fresh ones right now."""
        cutoff = time.time() - older_than_seconds
        for leftover in (self.root / 'tmp').iterdir():
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()

    def new_name(self, folder: str, suffix: str) -> str:
        """A fresh relative path such as `videos/3q2-…xg.mp4`."""
        return f'{folder}/{secrets.token_urlsafe(24)}{suffix}'

    def path(self, relative: str) -> Path:
        """The absolute path of a stored file; refuses anything that would leave DATA_DIR."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError('path outside the data folder')
        return path

    def temp_path(self, suffix: str = '') -> Path:
        return self.root / 'tmp' / f'{secrets.token_urlsafe(16)}{suffix}'

    def save_bytes(self, folder: str, suffix: str, data: bytes) -> str:
        relative = self.new_name(folder, suffix)
        temp = self.temp_path(suffix)
        temp.write_bytes(data)
        os.replace(temp, self.path(relative))
        return relative

    def adopt(self, temp: Path, folder: str, suffix: str) -> str:
        """Move a finished temp file into place atomically and return its relative path."""
        relative = self.new_name(folder, suffix)
        os.replace(temp, self.path(relative))
        return relative

    def delete(self, relative: str | None) -> None:
        if relative:
            self.path(relative).unlink(missing_ok=True)
