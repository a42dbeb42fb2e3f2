"""Stored files (uploads, keypoints, annotated videos, export zips) behind one interface.

Every stored file has a *key*: a relative, "/"-separated path such as
``users/<user>/analyses/<analysis>/original.mp4``. The database keeps keys (the same strings as
the paths relative to STORAGE_DIR it always kept), so a row means the same thing whichever
backend holds the bytes. Two backends, chosen by configuration (`STORAGE_BACKEND`,
`STORAGE_URL`):

- ``LocalStorage`` (default; `make run` unchanged): the folder STORAGE_DIR (or ``file:///…``).
  Every process must see the same folder, so every process runs on one machine (or shares a
  network file system).
- ``S3Storage`` (``s3://bucket/prefix``, via s3fs): any S3-compatible object store (MinIO, Ceph,
  AWS); hosts share nothing but it, Redis and the database.

What a caller does, the same on both:

    storage.put_file(local_path, key, move=True)   # an accepted upload goes in (streamed)
    with storage.local_copy(key) as path: ...      # a worker needs a real file (ffmpeg, numpy)
    with storage.writing(key) as tmp: write(tmp)   # a result: written locally, then put at key
    storage.open(key) / storage.list(prefix) / storage.size(key) / storage.delete(key)
    storage.delete_prefix(storage.analysis_prefix(user, analysis))
    storage.url_for_download(key, expires)         # S3: a presigned URL; local: None (stream it)

The module-level functions act on the configured backend (`backend()`); ``absolute()``,
``user_dir()`` and ``root()`` are the local backend's paths, kept for callers not yet moved to
keys (they raise `NotLocalStorage` on object storage rather than silently use a local folder).
"""

from __future__ import annotations

import builtins
import contextlib
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from config import settings

#: streamed copies move this many bytes at a time (bounded memory whatever the file's size)
COPY_CHUNK = 8 * 1024 * 1024
#: in-progress files carry this in their name; listings and sweepers skip them
TMP_MARK = ".tmp."


class NotLocalStorage(RuntimeError):
    """A local path was asked of object storage: the caller must use keys."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    #: last modification, seconds since the epoch
    mtime: float


# ---------------------------------------------------------------- keys


def check_key(key: str) -> str:
    """A key as stored: relative, "/"-separated, no "." or ".." parts. ValueError otherwise
    (a stored path from elsewhere is never followed out of the store)."""
    if not isinstance(key, str) or not key or key.startswith("/") or "\\" in key \
            or "\x00" in key:
        raise ValueError("path escapes the storage directory")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError("path escapes the storage directory")
    return key


def _prefix(prefix: str) -> str:
    """A prefix names a folder: "users/u1/" (a trailing "/" added)."""
    prefix = prefix.strip("/")
    check_key(prefix)
    return prefix + "/"


def user_prefix(user_id: str) -> str:
    return _prefix(f"users/{user_id}")


def analysis_prefix(user_id: str, analysis_id: str) -> str:
    return _prefix(f"users/{user_id}/analyses/{analysis_id}")


def analysis_key(user_id: str, analysis_id: str, name: str) -> str:
    """The key of one file of an analysis (original.mp4, keypoints.npz, pose/chunk_0001.npz)."""
    return check_key(analysis_prefix(user_id, analysis_id) + name)


def tmp_name(name: str) -> str:
    """An in-progress name beside `name` that keeps its suffix (numpy and ffmpeg go by it)."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    return f"{stem}.{uuid.uuid4().hex[:8]}{TMP_MARK}{suffix}".rstrip(".")


# ---------------------------------------------------------------- backends


class Storage:
    """The interface both backends implement."""

    #: "local" or "s3"
    kind = ""

    def put_file(self, local_path: Path, key: str, *, move: bool = False) -> None:
        """Store a local file at `key` (replacing what was there); `move`: the local file goes."""
        raise NotImplementedError

    def put_stream(self, stream: BinaryIO, key: str) -> None:
        """Store what `stream` reads, in chunks (never the whole file in memory)."""
        raise NotImplementedError

    def put_bytes(self, data: bytes, key: str) -> None:
        raise NotImplementedError

    def open(self, key: str) -> BinaryIO:
        """Read a stored file (seekable). FileNotFoundError when absent."""
        raise NotImplementedError

    def local_copy(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """A real file with the content of `key`, valid inside the `with` block (do not write
        to it). FileNotFoundError when absent."""
        raise NotImplementedError

    def writing(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """A local path to write; when the block ends without error its file is stored at
        `key` at once (readers see the old file or the new one, never a part)."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def size(self, key: str) -> int:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove a stored file; absent is fine."""
        raise NotImplementedError

    def delete_prefix(self, prefix: str) -> None:
        """Remove every file under a prefix (a user's, an analysis'); absent is fine."""
        raise NotImplementedError

    def list(self, prefix: str = "") -> list[StoredObject]:
        """Every stored file under a prefix ("" for all), in-progress files included."""
        raise NotImplementedError

    def url_for_download(self, key: str, expires: int | None = None, *,
                         filename: str | None = None,
                         content_type: str | None = None) -> str | None:
        """A URL a client can fetch the file from directly (a presigned GET on object storage),
        or None when the application must stream it itself (local)."""
        raise NotImplementedError

    def absolute(self, key: str) -> Path:
        raise NotLocalStorage(f"{self.kind} storage has no local paths; use keys "
                              "(local_copy, open, writing)")

    def incoming_dir(self) -> Path:
        """Where uploads stream on this host before they are accepted."""
        raise NotImplementedError


class LocalStorage(Storage):
    kind = "local"

    def __init__(self, root: Path):
        self.root = Path(root)

    def _root(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root

    def absolute(self, key: str) -> Path:
        root = self._root().resolve()
        path = (root / key).resolve()
        if not path.is_relative_to(root):
            raise ValueError("path escapes the storage directory")
        return path

    def _path(self, key: str) -> Path:
        return self.absolute(check_key(key))

    def incoming_dir(self) -> Path:
        # Under the storage root: an accepted upload moves into place by a rename.
        path = self._root() / "incoming"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def put_file(self, local_path: Path, key: str, *, move: bool = False) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if move:
            try:
                os.replace(local_path, target)  # same file system: a rename, no copy
                return
            except OSError:
                pass
        with builtins.open(local_path, "rb") as source:
            self.put_stream(source, key)
        if move:
            os.unlink(local_path)

    def put_stream(self, stream: BinaryIO, key: str) -> None:
        with self.writing(key) as tmp, builtins.open(tmp, "wb") as out:
            shutil.copyfileobj(stream, out, COPY_CHUNK)

    def put_bytes(self, data: bytes, key: str) -> None:
        with self.writing(key) as tmp:
            tmp.write_bytes(data)

    def open(self, key: str) -> BinaryIO:
        return builtins.open(self._path(key), "rb")

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        yield path  # the stored file itself: nothing to fetch

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(tmp_name(target.name))
        try:
            yield tmp
            os.replace(tmp, target)  # atomic: complete or absent
        finally:
            tmp.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self._path(_prefix(prefix).rstrip("/")), ignore_errors=True)

    def list(self, prefix: str = "") -> list[StoredObject]:
        root = self._root().resolve()
        base = self._path(_prefix(prefix).rstrip("/")) if prefix.strip("/") else root
        if not base.is_dir():
            return []
        found = []
        for path in base.rglob("*"):
            try:
                if path.is_symlink() or not path.is_file():
                    continue
                stat = path.stat()
            except FileNotFoundError:  # removed meanwhile
                continue
            key = path.relative_to(root).as_posix()
            if key.startswith("incoming/"):
                continue  # not stored yet: uploads still being received
            found.append(StoredObject(key, stat.st_size, stat.st_mtime))
        return sorted(found, key=lambda o: o.key)

    def url_for_download(self, key: str, expires: int | None = None, *,
                         filename: str | None = None,
                         content_type: str | None = None) -> str | None:
        return None


class S3Storage(Storage):
    """An S3 bucket (and prefix) through s3fs, with a per-host scratch folder for local files.

    Copies fetched for workers are cached under SCRATCH_DIR/cache (a chunked video is read by
    several pose tasks of one host) and checked against the stored object's size and
    modification time on every use, so a replaced file (a reprocessed analysis' keypoints) is
    fetched again. The cache is trimmed to SCRATCH_CACHE_BYTES, least recently used first.
    """

    kind = "s3"

    def __init__(self, url: str, *, endpoint_url: str = "", public_endpoint_url: str = "",
                 key: str = "", secret: str = "", region: str = "us-east-1",
                 scratch_dir: Path, cache_bytes: int = 10 * 1024**3):
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.options = {"endpoint_url": endpoint_url or None, "key": key or None,
                        "secret": secret or None, "region": region}
        self.public_endpoint_url = public_endpoint_url or endpoint_url
        self.scratch_dir = Path(scratch_dir)
        self.cache_bytes = cache_bytes
        self._fs = None
        self._signer = None
        self._pid = None
        self._lock = threading.Lock()

    # s3fs keeps an event loop and HTTP sessions: one file system object per process (a forked
    # pool process must not reuse its parent's).
    def _make_fs(self, endpoint_url: str | None):
        import s3fs

        return s3fs.S3FileSystem(
            key=self.options["key"], secret=self.options["secret"],
            endpoint_url=endpoint_url, client_kwargs={"region_name": self.options["region"]},
            # Other hosts write too: never answer from a stale listing.
            use_listings_cache=False, skip_instance_cache=True)

    @property
    def fs(self):
        with self._lock:
            if self._fs is None or self._pid != os.getpid():
                self._fs = self._make_fs(self.options["endpoint_url"])
                self._signer = None
                self._pid = os.getpid()
            return self._fs

    def _path(self, key: str) -> str:
        check_key(key)
        return "/".join(p for p in (self.bucket, self.prefix, key) if p)

    def _key(self, path: str) -> str:
        head = "/".join(p for p in (self.bucket, self.prefix) if p) + "/"
        path = path.lstrip("/")
        return path[len(head):] if path.startswith(head) else path

    def incoming_dir(self) -> Path:
        path = self.scratch_dir / "incoming"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def put_file(self, local_path: Path, key: str, *, move: bool = False) -> None:
        # s3fs uploads large files in parts, read from disk: memory stays bounded.
        self.fs.put_file(str(local_path), self._path(key))
        if move:
            os.unlink(local_path)

    def put_stream(self, stream: BinaryIO, key: str) -> None:
        with self.fs.open(self._path(key), "wb") as out:
            shutil.copyfileobj(stream, out, COPY_CHUNK)

    def put_bytes(self, data: bytes, key: str) -> None:
        self.fs.pipe_file(self._path(key), data)

    def open(self, key: str) -> BinaryIO:
        return self.fs.open(self._path(key), "rb")

    def _info(self, key: str) -> dict:
        return self.fs.info(self._path(key))

    @staticmethod
    def _mtime(info: dict) -> float:
        modified = info.get("LastModified") or info.get("last_modified")
        return modified.timestamp() if hasattr(modified, "timestamp") else 0.0

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        info = self._info(key)  # FileNotFoundError when absent
        if info.get("type") == "directory":
            raise FileNotFoundError(key)
        size, mtime = int(info["size"]), self._mtime(info)
        cached = self.scratch_dir / "cache" / self.bucket / (self.prefix or "_") / key
        try:
            stat = cached.stat()
            fresh = stat.st_size == size and abs(stat.st_mtime - mtime) < 1e-3
        except FileNotFoundError:
            fresh = False
        if not fresh:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(tmp_name(cached.name))
            try:
                self.fs.get_file(self._path(key), str(tmp))
                os.utime(tmp, (time.time(), mtime))
                os.replace(tmp, cached)
            finally:
                tmp.unlink(missing_ok=True)
            self._trim_cache(keep=cached)
        else:
            os.utime(cached, (time.time(), mtime))  # recently used (access time)
        yield cached

    def _trim_cache(self, keep: Path) -> None:
        """Least recently used copies out until the cache fits. A copy another process is
        reading stays readable (an open file outlives its name); copies used in the last minute
        are kept."""
        root = self.scratch_dir / "cache"
        files = []
        for path in root.rglob("*"):
            try:
                if path.is_file() and TMP_MARK not in path.name:
                    stat = path.stat()
                    files.append((stat.st_atime, stat.st_size, path))
            except FileNotFoundError:
                continue
        total = sum(size for _, size, _ in files)
        recent = time.time() - 60
        for used, size, path in sorted(files):
            if total <= self.cache_bytes:
                break
            if path == keep or used > recent:
                continue
            path.unlink(missing_ok=True)
            total -= size

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="out-", dir=self.scratch_dir))
        tmp = folder / PurePosixPath(key).name
        try:
            yield tmp
            self.fs.put_file(str(tmp), self._path(key))  # an S3 PUT is all or nothing
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def exists(self, key: str) -> bool:
        try:
            return self._info(key).get("type") != "directory"
        except FileNotFoundError:
            return False

    def size(self, key: str) -> int:
        return int(self._info(key)["size"])

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))

    def delete_prefix(self, prefix: str) -> None:
        paths = [self._path(o.key) for o in self.list(prefix)]
        if paths:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm(paths)  # batched DeleteObjects

    def list(self, prefix: str = "") -> list[StoredObject]:
        base = self._path(_prefix(prefix).rstrip("/")) + "/" if prefix.strip("/") else \
            "/".join(p for p in (self.bucket, self.prefix) if p) + "/"
        try:
            found = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return []
        objects = [StoredObject(self._key(path), int(info.get("size") or 0), self._mtime(info))
                   for path, info in found.items() if info.get("type") != "directory"]
        return sorted(objects, key=lambda o: o.key)

    def url_for_download(self, key: str, expires: int | None = None, *,
                         filename: str | None = None,
                         content_type: str | None = None) -> str | None:
        with self._lock:
            if self._signer is None or self._pid != os.getpid():
                # Signing is local computation: a file system object aimed at the address
                # clients use (it never connects).
                self._signer = self._make_fs(self.public_endpoint_url or None)
        params = {}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        if content_type:
            params["ResponseContentType"] = content_type
        return self._signer.sign(self._path(key),
                                 expiration=int(expires or settings.download_url_ttl_s),
                                 **params)


# ---------------------------------------------------------------- the configured backend

_backends: dict[tuple, Storage] = {}
_backends_lock = threading.Lock()


def backend() -> Storage:
    """The backend the settings name (read at each call: tests swap `settings`)."""
    s = settings
    url = s.storage_url
    if s.storage_backend == "s3":
        config = ("s3", url, s.s3_endpoint_url, s.s3_public_endpoint_url, s.s3_access_key_id,
                  s.s3_secret_access_key, s.s3_region, str(s.scratch_dir), s.scratch_cache_bytes)
    else:
        folder = Path(unquote(urlparse(url).path)) if url.startswith("file://") \
            else s.storage_dir
        config = ("local", str(folder))
    with _backends_lock:
        found = _backends.get(config)
        if found is None:
            if config[0] == "s3":
                found = S3Storage(url, endpoint_url=s.s3_endpoint_url,
                                  public_endpoint_url=s.s3_public_endpoint_url,
                                  key=s.s3_access_key_id, secret=s.s3_secret_access_key,
                                  region=s.s3_region, scratch_dir=s.scratch_dir,
                                  cache_bytes=s.scratch_cache_bytes)
            else:
                found = LocalStorage(Path(config[1]))
            _backends[config] = found
        return found


def is_local() -> bool:
    return backend().kind == "local"


def put_file(local_path: Path, key: str, *, move: bool = False) -> None:
    backend().put_file(local_path, key, move=move)


def put_stream(stream: BinaryIO, key: str) -> None:
    backend().put_stream(stream, key)


def put_bytes(data: bytes, key: str) -> None:
    backend().put_bytes(data, key)


def open(key: str) -> BinaryIO:  # noqa: A001 (storage.open reads like the builtin, on keys)
    return backend().open(key)


def local_copy(key: str) -> contextlib.AbstractContextManager[Path]:
    return backend().local_copy(key)


def writing(key: str) -> contextlib.AbstractContextManager[Path]:
    return backend().writing(key)


def exists(key: str) -> bool:
    return backend().exists(key)


def size(key: str) -> int:
    return backend().size(key)


def delete(key: str) -> None:
    backend().delete(key)


def delete_prefix(prefix: str) -> None:
    backend().delete_prefix(prefix)


def list(prefix: str = "") -> list[StoredObject]:  # noqa: A001
    return backend().list(prefix)


def url_for_download(key: str, expires: int | None = None, *, filename: str | None = None,
                     content_type: str | None = None) -> str | None:
    return backend().url_for_download(key, expires, filename=filename,
                                      content_type=content_type)


def incoming_dir() -> Path:
    """Uploads stream here first (this host's disk); accepted ones go into the store."""
    return backend().incoming_dir()


def folders(prefix: str, depth: int) -> dict[str, float]:
    """The folders `depth` parts deep that hold files under `prefix`, each with the newest
    modification time of its files: ``folders("users", 4)`` gives
    ``{"users/u1/analyses/a1/": mtime, ...}``. (Object storage has no folders: a folder is the
    common prefix of its keys, and an empty one does not exist.)"""
    found: dict[str, float] = {}
    for obj in backend().list(prefix):
        parts = obj.key.split("/")
        if len(parts) <= depth:
            continue  # a file at that level, not inside such a folder
        folder = "/".join(parts[:depth]) + "/"
        found[folder] = max(found.get(folder, 0.0), obj.mtime)
    return found


def sweep_scratch(grace_s: float, now: float | None = None) -> list[str]:
    """Remove this host's leftovers older than `grace_s`: uploads in incoming/ that a crashed
    request never stored, and (object storage) the output folders of writers killed mid-write.
    Each host sweeps its own disk (the web hosts from the upload path). Returns what went."""
    now = time.time() if now is None else now
    removed = []
    store = backend()
    candidates = [p for p in store.incoming_dir().iterdir()]
    if isinstance(store, S3Storage) and store.scratch_dir.is_dir():
        candidates += [p for p in store.scratch_dir.iterdir() if p.name.startswith("out-")]
    for path in candidates:
        try:
            if now - path.stat().st_mtime < grace_s:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            continue
        removed.append(f"{path.parent.name}/{path.name}")
    return removed


# ---------------------------------------------------------------- local paths (until callers
# use keys everywhere); object storage raises NotLocalStorage


def root() -> Path:
    store = backend()
    if not isinstance(store, LocalStorage):
        raise NotLocalStorage("object storage has no local root; use storage.list(prefix)")
    return store._root()


def user_dir(user_id: str) -> Path:
    return root() / "users" / user_id


def absolute(relative: str) -> Path:
    return backend().absolute(relative)


def relative(path: Path) -> str:
    return Path(path).resolve().relative_to(root().resolve()).as_posix()


def remove_user_files(user_id: str) -> None:
    backend().delete_prefix(user_prefix(user_id))


def remove(relative_path: str | None) -> None:
    if relative_path:
        backend().delete(check_key(relative_path))
