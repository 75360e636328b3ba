"""Help pages kept on disk, keyed by everything that shapes them.

A help page depends only on the command tree's code, the arguments and the terminal
width, so it is kept under the user's cache folder by a key of those (the package
version and the modification times of the CLI's modules). Any change to the code gives
a new key; a failure to read or write the cache only costs the normal start-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
from collections.abc import Callable, Sequence

HELP_FLAGS = ("--help", "-h")
_HERE = os.path.dirname(os.path.abspath(__file__))
_SOURCES = ("cli.py", "help_cache.py", "output.py", "__init__.py")


def wanted(args: Sequence[str]) -> bool:
    """A help page and nothing else: the flag, and no value that could be a command's."""
    return bool(args) and args[-1] in HELP_FLAGS and not any(a.startswith("=") for a in args)


def _folder() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "privlink", "help")


def _code_stamp() -> str:
    commands = os.path.join(_HERE, "commands")
    paths = [os.path.join(_HERE, name) for name in _SOURCES]
    with contextlib.suppress(OSError):
        paths += [
            os.path.join(commands, n) for n in sorted(os.listdir(commands)) if n.endswith(".py")
        ]
    stamps = []
    for path in paths:
        with contextlib.suppress(OSError):
            stamps.append(f"{path}:{os.stat(path).st_mtime_ns}")
    return "|".join(stamps)


def _key(args: Sequence[str]) -> str:
    width = os.environ.get("COLUMNS") or str(_terminal_width())
    env = [f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("PRIVLINK_")]
    raw = "\n".join([sys.version, _code_stamp(), width, *env, "\0", *args])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        return 80


def lookup(args: Sequence[str]) -> str | None:
    """The kept help page for these arguments, if there is one."""
    if not wanted(args):
        return None
    try:
        with open(os.path.join(_folder(), _key(args)), encoding="utf-8") as kept:
            return kept.read()
    except OSError:
        return None


def run_and_keep(args: Sequence[str], run: Callable[[Sequence[str]], None]) -> None:
    """Run the command tree for a help page, print it, and keep it if it was one."""
    buffer = io.StringIO()
    code: object = 0
    try:
        with contextlib.redirect_stdout(buffer):
            run(args)
    except SystemExit as exit_:
        code = exit_.code
    text = buffer.getvalue()
    sys.stdout.write(text)
    if code in (0, None) and text.startswith("Usage:"):
        with contextlib.suppress(OSError):
            os.makedirs(_folder(), mode=0o700, exist_ok=True)
            path = os.path.join(_folder(), _key(args))
            with open(path + ".tmp", "w", encoding="utf-8") as kept:
                kept.write(text)
            os.replace(path + ".tmp", path)
    if code not in (0, None):
        raise SystemExit(code)
