"""`cellc cache info|list|clear`: the disk cache of compiled cells (cellc.frontend.disk_cache).

Calling a cell and `cellc compile` keep their artifacts in $CELLC_CACHE_DIR (default
~/.cache/cellc), at most $CELLC_CACHE_SIZE (default 1 GiB): the least recently used
entries are removed after each write.
"""

from __future__ import annotations

import click

from cellc.frontend import disk_cache

EPILOG = """\b
Examples:
  cellc cache info
  cellc cache list
  cellc cache clear
  CELLC_CACHE_SIZE=200M cellc run train.py   # keep the cache under 200 MiB
"""


@click.group("cache", epilog=EPILOG)
def cache() -> None:
    """Inspect or clear the disk cache of compiled cells."""


@cache.command("info")
def info() -> None:
    """The cache's directory, number of entries, total size and size limit."""
    entries = disk_cache.entries()
    click.echo(f"directory: {disk_cache.cache_dir()}")
    click.echo(f"entries:   {len(entries)}")
    click.echo(f"size:      {_size(sum(entry.size for entry in entries))}")
    click.echo(f"limit:     {_size(disk_cache.max_bytes())} (CELLC_CACHE_SIZE)")


@cache.command("list")
def list_() -> None:
    """Every entry, most recently used first: size, age, entry name and target."""
    entries = disk_cache.entries()
    if not entries:
        click.echo(f"(the cache {disk_cache.cache_dir()} is empty)")
        return
    click.echo(f"{'key':<32}  {'size':>9}  {'age':>6}  {'entry':<24}  target")
    for entry in entries:
        described = entry.describe()
        click.echo(
            f"{entry.path.stem:<32}  {_size(entry.size):>9}  {_age(entry.age_s):>6}  "
            f"{described['entry']:<24}  {described['target']}"
        )


@cache.command("clear")
def clear() -> None:
    """Remove every entry."""
    count = disk_cache.clear()
    click.echo(f"removed {count} entr{'y' if count == 1 else 'ies'} from {disk_cache.cache_dir()}")


def _size(count: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"
