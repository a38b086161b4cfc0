"""`jianbao bench extract`: characters per second on a warm model, load time, peak memory."""
from __future__ import annotations

import resource
import time


def run_extract_bench(settings, chars: int, threads: int) -> dict:
    from rich.console import Console
    from rich.table import Table

    from pipeline.annotations import load_split
    from pipeline.extract import load_extractor
    from pipeline.types import Passage

    t0 = time.perf_counter()
    extractor = load_extractor(settings, threads=threads)
    load_s = time.perf_counter() - t0
    texts = [r["text"] for r in load_split(settings.resolve(settings.paths.annotations), "test")]
    passages, total = [], 0
    while total < chars and texts:
        for t in texts:
            passages.append(Passage(f"b{len(passages)}", t))
            total += len(t)
            if total >= chars:
                break
    list(extractor.extract(passages[:8]))  # warm up
    t1 = time.perf_counter()
    n = sum(1 for _ in extractor.extract(passages))
    secs = time.perf_counter() - t1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"runtime": type(getattr(extractor, "runtime", extractor)).__name__, "passages": n,
              "characters": total, "seconds": round(secs, 2), "chars_per_s": round(total / secs), "threads": threads,
              "model_load_s": round(load_s, 2), "peak_rss_mb": round(peak_mb)}
    table = Table(title="bench extract")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for k, v in result.items():
        table.add_row(k, str(v))
    Console().print(table)
    return result
