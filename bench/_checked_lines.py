"""Numbered, checksummed 100-byte lines, and the check that finds lost, duplicated, split or reordered ones."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MARK = "@L"  # starts every payload, so it is found behind any prefix (time, name, colour)
FILLER = 78  # with the header this makes every line exactly 100 bytes, newline included


@dataclass
class Check:
    """What arrived in the output: good lines, and every way a line can go wrong."""

    good: int = 0
    lost: int = 0
    duplicated: int = 0
    damaged: int = 0
    reordered: int = 0

    def add(self, other: Check) -> None:
        """Accumulate another run's counts."""
        self.good += other.good
        self.lost += other.lost
        self.duplicated += other.duplicated
        self.damaged += other.damaged
        self.reordered += other.reordered

    @property
    def clean(self) -> bool:
        """Nothing lost, duplicated, split or out of order."""
        return not (self.lost or self.duplicated or self.damaged or self.reordered)


def make_data(path: Path, tag: str, count: int) -> None:
    """Write ``count`` numbered, checksummed lines for the writer ``tag`` (one short word, no colon)."""
    lines = []
    for seq in range(count):
        filler = (f"{(seq * 2654435761) & 0xFFFFFFFF:08x}" * 10)[:FILLER]
        crc = zlib.crc32(f"{tag}:{seq:07d}:{filler}".encode())
        lines.append(f"{MARK}{tag}:{seq:07d}:{crc:08x}:{filler}\n")
    path.write_text("".join(lines))


def verify(outputs: Sequence[Path], counts: dict[str, int], *, crlf: bool = False) -> Check:
    """Find every numbered line in the output files and count lost, duplicated, damaged and reordered ones."""
    seen = {tag: bytearray(n) for tag, n in counts.items()}
    last = dict.fromkeys(counts, -1)
    check = Check()
    text = "\n".join(out.read_bytes().decode("utf-8", "replace") for out in outputs)
    if crlf:  # a raw pty relay keeps the terminal's CRLF; procdash itself must never leave a CR
        text = text.replace("\r\n", "\n")
    for line in text.split("\n"):
        at = line.find(MARK)
        if at < 0:
            continue
        try:
            tag, number, crc, filler = line[at + len(MARK) :].split(":")
            seq = int(number)
            intact = zlib.crc32(f"{tag}:{number}:{filler}".encode()) == int(crc, 16) and seq < len(seen[tag])
        except (ValueError, KeyError):
            intact = False
        if not intact:
            check.damaged += 1
            continue
        if seen[tag][seq]:
            check.duplicated += 1
        else:
            seen[tag][seq] = 1
            check.good += 1
        if seq < last[tag]:
            check.reordered += 1
        last[tag] = seq
    check.lost = sum(len(marks) - sum(marks) for marks in seen.values())
    return check
