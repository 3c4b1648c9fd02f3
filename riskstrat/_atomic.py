"""Atomic output folders: written beside their place, renamed into it when complete.

A crash (or an exception) never leaves a half-written folder: readers see either the
previous one or the new one. The cohort writer, the model bundle and the training
evaluation all go through :func:`atomic_output_dir`.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import glob
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from riskstrat._signals import check_stopped, committing, placed

logger = logging.getLogger(__name__)

OUT_EXISTS = "{path}: output folder already exists; pass --overwrite (overwrite=True) to replace it"
OUT_APPEARED = (
    "{path}: written by another run while this one worked (it did not exist when this run "
    "started); this run's output is not written; check the run that folder holds, and pass "
    "--overwrite (overwrite=True) only if this one should replace it"
)
OUT_APPEARED_OVERWRITE = (
    "{path}: written by another run while this one worked (it did not exist when this run "
    "started); this run's output is not written; check the run that folder holds, and run "
    "this one again only if it should replace it"
)
OUT_REPLACED = (
    "{path}: replaced or removed by another run while this one worked; this run's output is not "
    "written; check the run that folder now holds, and run this one again only if it should "
    "replace it"
)
OUT_NOT_DIR = "{path}: exists and is not a folder; refusing to replace it"
NOT_AN_OUTPUT = (
    "{path}: exists and is not {what} (it holds {found}); refusing to replace it, which would "
    "delete what it holds; expected a new folder, or one an earlier run wrote"
)


# Files an operating system leaves in any folder it shows: nobody's data, and no reason to
# refuse replacing a folder that holds them besides an earlier run's outputs.
SYSTEM_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


class OutputExistsError(FileExistsError):
    """The output folder exists and overwriting was not asked for."""


@dataclasses.dataclass(frozen=True)
class Replaceable:
    """Which existing folders an output may replace: ``owns(folder)`` says whether a
    folder is one of its own earlier outputs; ``what`` names such a folder in errors."""

    owns: Callable[[Path], bool]
    what: str
    # The entries that keep a folder of an earlier output from being one (a note saved in
    # it), when it can tell them: named first, not lost among the output's own files.
    strangers: Callable[[Path], list[str]] | None = None


@contextlib.contextmanager
def atomic_output_dir(
    out: str | Path, overwrite: bool = False, replaceable: Replaceable | None = None
) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; rename it to ``out`` if the block succeeds.

    Parameters
    ----------
    out : str or Path
        Final output folder.
    overwrite : bool
        Replace an existing ``out`` (swapped in by rename, the old one removed afterwards).
    replaceable : Replaceable, optional
        With ``overwrite``, an existing non-empty ``out`` is replaced only if it is one of
        these (a data folder given as ``--out`` by mistake is never deleted).

    Yields
    ------
    Path
        The temporary folder to write into.

    Raises
    ------
    OutputExistsError
        ``out`` exists and ``overwrite`` is false, or it is not ``replaceable`` (checked
        before any work and again before the rename).
    """
    out = Path(out)
    if out.parent.is_dir():
        remove_stale_work(out)  # first: it may put back a folder a killed swap left aside
    _check_target(out, overwrite, replaceable)
    # What is at ``out`` now, held open: a folder another run renames into place while this
    # one works is another folder (with --overwrite too: two jobs at once, the last would
    # win unsaid), and while held, the one found cannot lend its inode number to a new one.
    found = _Held.at(out)
    made: list[Path] = []
    tmp: Path | None = None
    try:
        try:
            # Folders made here for ``out`` go again if the run fails: nothing is left on
            # disk. Made and named inside the ``try``: a signal landing as they are is
            # cleaned up too.
            made = [p for p in [out.parent, *out.parent.parents] if not p.exists()]
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = work_path(out.parent, f".{out.name}.tmp-{os.getpid()}-")
            yield tmp
            check_stopped()  # a stop a callback swallowed: nothing of this run is placed
        except BaseException:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            _remove_empty(made)
            raise
        _fsync_dir(tmp)
        if not found.still_at(out):
            appeared = OUT_APPEARED_OVERWRITE if overwrite else OUT_APPEARED
            raise OutputExistsError((appeared if found.absent else OUT_REPLACED).format(path=out))
        _check_target(out, overwrite, replaceable)
        _owner_only(tmp)
        # From here a stop leaves either this run's output or what was there, never part.
        committing(out)
        if not out.exists():
            tmp.rename(out)
        elif not _exchange(tmp, out):
            # No atomic exchange here: for a moment there is no ``out``, and a crash in
            # it leaves the previous folder at ``.old``, which the next run puts back.
            # Only a name: nothing made here for a signal to leave behind.
            old = out.parent / f".{out.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
            out.rename(old)
            tmp.rename(out)
            old.unlink() if old.is_symlink() else shutil.rmtree(old, ignore_errors=True)
        # After an exchange the old folder sits at ``tmp``, removed below.
        _fsync_dir(out.parent)
        placed(out)
    finally:
        found.close()
        # After an exchange with a linked ``out``, the link sits here: rmtree takes no link.
        if tmp is not None and tmp.is_symlink():
            tmp.unlink()
        elif tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _identity(path: Path) -> tuple[int, int] | None:
    """The device and inode of what is at ``path`` (not followed if a link), or None."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


@dataclasses.dataclass
class _Held:
    """What was at a path: a descriptor held open on it (the link itself if one), whose
    inode number no folder made meanwhile can take, or its identity where none opens."""

    fd: int | None
    identity: tuple[int, int] | None

    @classmethod
    def at(cls, path: Path) -> _Held:
        identity = _identity(path)
        if identity is None:
            return cls(None, None)
        try:
            flags = getattr(os, "O_PATH", os.O_RDONLY) | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(path, flags)
        except OSError:  # no O_PATH and a link, say: the identity alone
            return cls(None, identity)
        st = os.fstat(fd)
        return cls(fd, (st.st_dev, st.st_ino))

    @property
    def absent(self) -> bool:
        return self.identity is None

    def still_at(self, path: Path) -> bool:
        return _identity(path) == self.identity

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _remove_empty(made: list[Path]) -> None:
    """Remove the folders a failed run made for its output, deepest first, while empty."""
    for folder in made:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _owner_only(folder: Path) -> None:
    """Folders 0700 and files 0600, as :func:`atomic_file` makes the single-file outputs.

    A cohort names the people a county serves with their histories: readable by its owner
    only, whatever the umask; a county grants its programme staff access as its policy says.
    """
    folder.chmod(0o700)
    for path in folder.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o700 if path.is_dir() else 0o600)


def remove_stale_work(out: str | Path) -> int:
    """Remove work folders beside ``out`` left by runs that were killed mid-write.

    A run names its work folders ``.<out>.tmp-<pid>-*`` / ``.<out>.old-<pid>-*``; a folder
    whose process no longer exists on this machine can only be debris (a finished run
    renames or removes its own), except an ``.old`` folder when ``out`` is missing: the
    run died mid-swap, and that folder, the previous output, is moved back to ``out``.
    Folders of live processes, and names without a pid, are left alone.

    Returns
    -------
    int
        How many folders were removed.
    """
    out = Path(out)
    removed = 0
    if not out.parent.is_dir():
        return 0
    for kind in ("tmp", "old"):
        for folder in sorted(out.parent.glob(f".{glob.escape(out.name)}.{kind}-*-*")):
            pid = folder.name[len(f".{out.name}.{kind}-") :].split("-", 1)[0]
            if not (
                (folder.is_dir() or folder.is_symlink()) and pid.isdigit() and not _alive(int(pid))
            ):
                continue
            if kind == "old" and not out.exists() and folder.is_dir():
                # Killed between moving the previous folder aside and the new one in:
                # the previous one is the only complete copy, so it goes back.
                folder.rename(out)
                logger.warning("restored %s, left aside by a run killed mid-swap", out)
                continue
            if folder.is_symlink():  # a linked ``out`` exchanged aside
                folder.unlink()
            else:
                shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    if removed:
        logger.info("removed %d work folder(s) left by killed runs beside %s", removed, out)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return done == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def check_replaceable_dir(out: str | Path, replaceable: Replaceable) -> None:
    """Raise :class:`OutputExistsError` now, before any work, if ``out`` may not be replaced."""
    _check_target(Path(out), True, replaceable)


def _check_target(out: Path, overwrite: bool, replaceable: Replaceable | None = None) -> None:
    if out.exists() and not out.is_dir():
        raise OutputExistsError(OUT_NOT_DIR.format(path=out))
    if out.exists() and not overwrite:
        raise OutputExistsError(OUT_EXISTS.format(path=out))
    if out.exists() and replaceable is not None and not replaceable.owns(out):
        entries = sorted(p.name for p in out.iterdir())
        strangers = replaceable.strangers(out) if replaceable.strangers else []
        if entries:  # an empty folder holds nothing to lose
            found = _listed(strangers or entries)
            if strangers:
                found += (
                    f", which no run wrote, beside {len(entries) - len(strangers)} of its files"
                )
            raise OutputExistsError(
                NOT_AN_OUTPUT.format(path=out, what=replaceable.what, found=found)
            )


def _listed(names: list[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # Durability of the rename on POSIX; harmless elsewhere.
    with contextlib.suppress(OSError):
        _fsync(path)


@contextlib.contextmanager
def staged_files(
    folder: str | Path | None,
    keep_on: tuple[type[BaseException], ...] = (),
    keep_in: str | Path | None = None,
) -> Iterator[Path | None]:
    """A work folder beside ``folder`` whose files move into ``folder`` if the block ends well.

    For files a run writes beside its main output (the rows quarantine set aside): a run
    stopped or failed leaves none of them, so no such file outlives the run it belongs
    to, except a failure of a ``keep_on`` kind, which they explain (a table rejected
    whole): those move into ``keep_in`` (a folder beside ``folder``; default ``folder``).
    Each file is moved in by rename; the folder's other files are left as they are.
    Yields None when ``folder`` is None.
    """
    if folder is None:
        yield None
        return
    folder = Path(folder)
    if folder.parent.is_dir():
        remove_stale_work(folder)
    made: list[Path] = []
    tmp: Path | None = None
    try:
        try:
            made = [p for p in [folder.parent, *folder.parent.parents] if not p.exists()]
            folder.parent.mkdir(parents=True, exist_ok=True)
            tmp = work_path(folder.parent, f".{folder.name}.tmp-{os.getpid()}-")
            yield tmp
            check_stopped()
        except keep_on:
            _move_files(tmp, Path(keep_in or folder))
            raise
        except BaseException:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            _remove_empty(made)  # as atomic_output_dir: a failed run leaves no folders
            raise
        committing(folder, whole=False)
        _move_files(tmp, folder)
        placed(folder)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def owner_only_folder(folder: Path) -> None:
    """Make ``folder`` (and any missing parent) if missing, its owner's only whatever the
    umask; a folder already there keeps the access the county gave it."""
    if folder.is_dir():
        return
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)


def _move_files(source: Path, folder: Path) -> None:
    # The owner's only, as the folders written whole: rows set aside hold record contents.
    owner_only_folder(folder)
    for path in sorted(source.iterdir()):
        path.replace(folder / path.name)
    _fsync_dir(folder)


def work_path(parent: Path, prefix: str, suffix: str = "", folder: bool = True) -> Path:
    """A new folder (0700) or empty file (0600) in ``parent`` that no signal leaves behind.

    As ``mkdtemp`` and ``mkstemp`` make them, but Python runs a signal's handler between
    two steps of its own code, and the handler raises (Ctrl-C; SIGTERM's exit): one
    landing after ``mkdtemp`` made the folder but before its name came back left it with
    no one to remove it (a scheduler's SIGTERM, sent as soon as a run's work folder
    appeared, did). Here the name is known before it is made, and removed if the call
    does not return it; a name another made first is never touched.

    Assign the result directly, inside the ``try`` that removes it: CPython (3.11 to 3.13)
    runs no handler between a function's return and the caller storing the value, but
    any call in between (``str()`` of it, say) is a place where one runs. The path is
    absolute, as ``mkdtemp``'s, so messages naming it name a place wherever they are read.
    """
    parent = Path(os.path.abspath(parent))
    for _ in range(100):
        path = parent / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            if folder:
                path.mkdir(mode=0o700)
            else:
                os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
            return path
        except FileExistsError:
            continue
        except BaseException:
            with contextlib.suppress(OSError):
                path.rmdir() if folder else path.unlink()
            raise
    raise FileExistsError(errno.EEXIST, "no unused name for a work file", str(parent / prefix))


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """A temporary file beside ``path`` (mode 0600) that replaces ``path`` if the block ends well.

    A reader sees the old file or the new one, never part; a failed or stopped block
    leaves neither its file nor a temporary one.
    """
    path = Path(path)
    tmp: Path | None = None
    try:
        tmp = work_path(path.parent, f".{path.name}.{os.getpid()}-", ".tmp", folder=False)
        yield tmp
        check_stopped()
        _fsync(tmp)  # the bytes on disk before the name: no empty file after a crash
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def scratch_folder(prefix: str = "riskstrat-") -> Iterator[Path]:
    """A private folder in the system's temporary folder, removed when the block ends; made
    by :func:`work_path`: ``tempfile.TemporaryDirectory`` leaves its folder to a signal
    landing as it is made (before its clean-up is set up)."""
    tmp: Path | None = None
    try:
        tmp = work_path(Path(tempfile.gettempdir()), prefix)
        yield tmp
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
