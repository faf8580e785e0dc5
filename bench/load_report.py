"""The load benchmark's report (bench/load.py): one Markdown table row per class size, as each one finishes.

`HEADER` and `print_row` for a class drawing digits (run_class's results), `FOLLOW_HEADER` and
`print_follow_row` for a class session (run_follow_class's). A figure that was not measured shows as "-".
"""
from __future__ import annotations

__all__ = ["FOLLOW_HEADER", "HEADER", "print_follow_row", "print_row"]

HEADER = ("| N | trainers | drawings | p50 ms | p95 ms | max ms | rerun p95 ms | wrong | errors | server CPU % | "
          "workers CPU % | server RSS MB | generator CPU % | load avg |\n|" + "---|" * 14)


def print_row(r: dict) -> None:
    print(f"| {r['sessions']} | {r['trainers']} | {r['drawings']} | {_fmt(r['pred_p50_ms'])} | "
          f"{_fmt(r['pred_p95_ms'])} | {_fmt(r['pred_max_ms'])} | {_fmt(r['run_p95_ms'])} | "
          f"{r['wrong']} | {r['errors']} | {_fmt(r['server_cpu_pct'])} | {_fmt(r['workers_cpu_pct'])} | "
          f"{_fmt(r['server_rss_mb'])} | {_fmt(r['generator_cpu_pct'])} | {r['load_avg'][0]}-{r['load_avg'][1]} |",
          flush=True)
    for sample in r["error_samples"]:
        print(f"    error: {sample}", flush=True)


FOLLOW_HEADER = ("| N | moves | follow p50 ms | follow p95 ms | follow max ms | not followed | drawings | "
                 "wall p50 ms | "
                 "wall p95 ms | wall max ms | lost | answers | errors | server CPU % | load avg |\n|" + "---|" * 15)


def print_follow_row(r: dict) -> None:
    print(f"| {r['sessions']} | {r['moves']} | {_fmt(r['follow_p50_ms'])} | {_fmt(r['follow_p95_ms'])} | "
          f"{_fmt(r['follow_max_ms'])} | {r['follow_missed']} | {r['drawings']} | {_fmt(r['wall_p50_ms'])} | "
          f"{_fmt(r['wall_p95_ms'])} | {_fmt(r['wall_max_ms'])} | {r['drawings_lost']} | {r['answers']} | "
          f"{r['errors']} | {_fmt(r['server_cpu_pct'])} | {r['load_avg'][0]} |", flush=True)
    print("    follow p95 by page moved to: " + ", ".join(f"{page} {_fmt(v)} ms"
                                                    for page, v in r["follow_p95_ms_by_page"].items()), flush=True)
    for sample in r["error_samples"]:
        print(f"    error: {sample}", flush=True)


def _fmt(v, digits: int = 0) -> str:
    return "-" if v is None else f"{v:.{digits}f}"
