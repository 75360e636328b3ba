"""`privlink`: the entry point. Help pages come from a cache when they can, so
`privlink … --help` answers without importing the command tree (typer and click alone
take ~100 ms to import); everything else runs `privlink.commands.root`."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from privlink import help_cache


def main(argv: Sequence[str] | None = None) -> None:
    args = list(argv) if argv is not None else sys.argv[1:]
    cached = help_cache.lookup(args)
    if cached is not None:
        sys.stdout.write(cached)
        return
    from privlink.commands import root

    if help_cache.wanted(args):
        help_cache.run_and_keep(args, root.run)
    else:
        root.run(args)
