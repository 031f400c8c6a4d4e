"""Bundled specs parsed and expanded once, then loaded from a pickle (issue 14).

Reading ResNet-152's YAML and expanding its blocks took 30 ms of every run's 130; the network it gives
unpickles in 1 ms. Each bundled spec's network is kept in the user's cache folder under a key made of
the spec's bytes, cnncalc's version, the Python version and the size and modification time of every
cnncalc module (so an edited engine never reads a network an older one built). Any problem with the
cache (no home, a read-only disk, a damaged or foreign file) only means the spec is parsed as before:
the cache can never change an answer or stop a run.

`CNNCALC_CACHE_DIR` chooses the folder (default `$XDG_CACHE_HOME/cnncalc`, else `~/.cache/cnncalc`);
`CNNCALC_NO_CACHE=1` turns the cache off. Only bundled specs are cached: a user's own files change
between runs, and their parse is what reports their mistakes.
"""

from __future__ import annotations

import os
import pickle
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from cnncalc.model.layers import Network

CACHE_FORMAT = b"cnncalc-network-1\n"  # change when what is pickled changes shape
_PACKAGE = Path(__file__).resolve().parent.parent


def cache_dir() -> Path | None:
    if os.environ.get("CNNCALC_NO_CACHE"):
        return None
    chosen = os.environ.get("CNNCALC_CACHE_DIR")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cnncalc" if os.path.isabs(base) else None


def _code_stamp() -> bytes:
    """Every cnncalc module's name, size and modification time: 75 stat calls through os.scandir, which
    hands each entry's type over with its name (os.walk and relpath took 1.5 ms of every start)."""
    parts: list[str] = []
    _stamp_folder(str(_PACKAGE), "", parts)
    return "\n".join(parts).encode()


def _stamp_folder(folder: str, prefix: str, parts: list[str]) -> None:
    with os.scandir(folder) as found:
        entries = sorted(found, key=lambda e: e.name)
    for entry in entries:
        if entry.name.endswith(".py") and entry.is_file():
            info = entry.stat()
            parts.append(f"{prefix}{entry.name}:{info.st_size}:{info.st_mtime_ns}")
        elif entry.is_dir() and entry.name != "__pycache__":
            _stamp_folder(entry.path, f"{prefix}{entry.name}{os.sep}", parts)


def key(data: bytes) -> str:
    """The spec's content and the code that reads it, as 24 hex digits: CRC-32s and the length (zlib is
    already loaded; hashlib would add 3 ms of start-up). The cache is one user's own, so only accidental
    collisions matter, and a change to a spec or to cnncalc changes the key."""
    import zlib

    from cnncalc import __version__

    header = CACHE_FORMAT + f"{__version__}\n{sys.version}\n".encode() + _code_stamp()
    return f"{zlib.crc32(header):08x}{zlib.crc32(data):08x}{len(data) & 0xFFFFFFFF:08x}"


def _trusted(folder: Path) -> bool:
    """A folder only this user can write to: a pickle runs code when loaded, so one anybody could have
    written is never read."""
    try:
        info = folder.stat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def bundled_network(name: str, data: bytes, parse: Callable[[], Network]) -> Network:
    """The network of the bundled spec `name` (whose file holds `data`): from the cache when it is there
    and current, else `parse()`, stored for the next run."""
    folder = cache_dir()
    if folder is None or not hasattr(os, "getuid"):
        return parse()
    path = folder / f"{name}-{key(data)}.pickle"
    if _trusted(folder):
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except Exception:  # noqa: BLE001 - missing, damaged or from another cnncalc: parse instead
            pass
    network = parse()
    _store(folder, name, path, network)
    return network


def _store(folder: Path, name: str, path: Path, network: Network) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _trusted(folder):
            return
        for old in folder.glob(f"{name}-*.pickle"):  # earlier versions of this spec or of cnncalc
            if old.name.rsplit("-", 1)[0] == name:
                old.unlink(missing_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        with open(temporary, "wb") as f:
            pickle.dump(network, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)  # whole or not at all, even with two runs at once
    except Exception:  # noqa: BLE001 - a read-only disk, a full one, no home: the next run parses again
        pass
