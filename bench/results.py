"""The shape every benchmark returns, rendered into BENCHMARKS.md by bench.report."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Row:
    figure: str
    value: str
    baseline: str = "-"
    target: str = "-"
    verdict: str = "-"  # PASS / FAIL / "-" (no target)


@dataclass
class Result:
    name: str
    title: str
    method: str = ""
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    raw: dict = field(default_factory=dict)

    def add(self, figure: str, value: str, baseline: str = "-", target: str = "-",
            ok: bool | None = None) -> None:
        verdict = "-" if ok is None else ("PASS" if ok else "FAIL")
        self.rows.append(Row(figure, value, baseline, target, verdict))


def ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def mb(value_bytes: float) -> str:
    return f"{value_bytes / (1024 * 1024):.0f} MB"
