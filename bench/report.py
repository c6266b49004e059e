"""The table ``python -m bench`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.load import LoadResult


@dataclass
class Row:
    """One measured line: what, how much, the target and whether it is met (None: no target)."""

    name: str
    result: str
    load: LoadResult | None
    target: str = ""
    ratio: str = ""
    met: bool | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        out = {
            "name": self.name,
            "result": self.result,
            "target": self.target,
            "ratio": self.ratio,
            "met": self.met,
            "notes": self.notes,
        }
        if self.load is not None:
            out.update(
                requests_per_second=round(self.load.requests_per_second, 1),
                items_per_second=round(self.load.items_per_second, 1),
                p50_ms=round(self.load.p50_ms, 2),
                p99_ms=round(self.load.p99_ms, 2),
                errors=self.load.errors,
                generator=self.load.generator,
            )
        return out


def render(header: str, rows: list[Row]) -> str:
    """A plain-text table, one row per measurement, notes indented under their row."""
    cells = [("Measurement", "Result", "p50 ms", "p99 ms", "Ratio / value", "Target", "Met")]
    for row in rows:
        cells.append(
            (
                row.name,
                row.result,
                f"{row.load.p50_ms:.1f}" if row.load else "",
                f"{row.load.p99_ms:.1f}" if row.load else "",
                row.ratio,
                row.target,
                {True: "met", False: "NOT MET", None: ""}[row.met],
            )
        )
    widths = [max(len(c[i]) for c in cells) for i in range(len(cells[0]))]
    lines = [header, ""]
    for index, line in enumerate(cells):
        lines.append("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
        elif rows[index - 1].notes:
            lines.extend(f"    {note}" for note in rows[index - 1].notes)
    met = [r.met for r in rows if r.met is not None]
    lines += ["", f"targets met: {sum(met)} of {len(met)}"]
    return "\n".join(lines)
