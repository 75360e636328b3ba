"""Help pages from the cache: the same text as the command tree prints, without importing
it; any change to the CLI's code, or an error, is never served from the cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from privlink import help_cache

PROBE = (
    "import sys; from privlink.cli import main\n"
    "try: main(sys.argv[1:])\n"
    "except SystemExit as e: sys.exit(e.code)\n"
    "print('TYPER-LOADED' if 'typer' in sys.modules else 'TYPER-NOT-LOADED', file=sys.stderr)"
)


def privlink(cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, check=False
    )


class TestHelpCache:
    def test_second_help_is_the_same_text_without_the_command_tree(self, tmp_path: Path) -> None:
        first = privlink(tmp_path, "cloud", "--help")
        second = privlink(tmp_path, "cloud", "--help")
        assert first.returncode == second.returncode == 0
        assert first.stdout == second.stdout
        assert first.stdout.startswith("Usage:")
        assert "TYPER-LOADED" in first.stderr
        assert "TYPER-NOT-LOADED" in second.stderr

    def test_errors_are_not_kept(self, tmp_path: Path) -> None:
        for _ in range(2):
            answer = privlink(tmp_path, "no-such-command", "--help")
            assert answer.returncode == 2
            assert "No such command" in answer.stderr

    def test_other_arguments_are_other_pages(self, tmp_path: Path) -> None:
        privlink(tmp_path, "--help")
        assert "TYPER-LOADED" in privlink(tmp_path, "admin", "--help").stderr
        assert "TYPER-NOT-LOADED" in privlink(tmp_path, "--help").stderr

    def test_a_change_to_the_cli_code_is_a_new_key(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
        before = help_cache._key(["--help"])
        stamp = help_cache._code_stamp()
        source = Path(help_cache.__file__).parent / "commands" / "cloud.py"
        stat = source.stat()
        try:
            os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
            assert help_cache._code_stamp() != stamp
            assert help_cache._key(["--help"]) != before
        finally:
            os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    def test_only_a_trailing_help_flag_is_a_help_page(self) -> None:
        assert help_cache.wanted(["cloud", "--help"])
        assert help_cache.wanted(["-h"])
        assert not help_cache.wanted([])
        assert not help_cache.wanted(["cloud", "vpc", "list"])
        assert not help_cache.wanted(["--help", "cloud"])
