"""The model registry (what flows/retrain.py orchestrates): every trained model kept under a versioned folder
<registry_dir>/<version>/ (the save_pretrained bundle, README.md and card.json), and the current model
(model.path, models/current by default) replaced only by a model that scores at least as well.

    version = new_version(registry)                       # 20260105-030000 (UTC), unique in the registry
    decision = decide(new_test, old_test, tolerance, metric="entities.micro.f1", current_exists=True)
    write_card(model_dir, {...})                          # card.json + a "Registry" section in README.md
    if decision.promote: promote(model_dir, current)      # a copy swapped in by renames: never half-written
    comparison_markdown(old_test, new_test, decision)     # old vs new per label, for the flow's artifact

Reports are pipeline.scorer reports: {"entities": {"micro": {p, r, f1}, "per_label": {...}}, "relations":
{"micro", "per_type"}, "quantities", "facts", "norm_accuracy"}.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

CARD_JSON = "card.json"
CARD_MD = "README.md"


def new_version(registry: Path, now: datetime | None = None, preferred: Any = None) -> str:
    """A folder name free in the registry: the model's own version when it is a plain name (so that the version
    recorded with every fact names its folder), else the UTC time; "-2", "-3" … appended on a collision."""
    stamp = str(preferred) if preferred and re.fullmatch(r"\w[\w.+-]*", str(preferred)) else \
        (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    version, n = stamp, 2
    while (registry / version).exists():
        version = f"{stamp}-{n}"
        n += 1
    return version


def metric(report: dict[str, Any] | None, path: str) -> float | None:
    """The number at a dotted path of a report ("entities.micro.f1"), None when absent."""
    cur: Any = report
    for key in path.split("."):
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    return float(cur) if isinstance(cur, (int, float)) and not isinstance(cur, bool) else None


@dataclass
class Decision:
    promote: bool
    reason: str
    metric: str
    new: float | None
    old: float | None
    tolerance: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(new_report: dict[str, Any] | None, old_report: dict[str, Any] | None, tolerance: float,
           metric_path: str = "entities.micro.f1", *, current_exists: bool, force: bool = False) -> Decision:
    """Promote when the new model's test score is at least the current one's minus the tolerance."""
    new, old = metric(new_report, metric_path), metric(old_report, metric_path)

    def d(ok: bool, why: str) -> Decision:
        return Decision(ok, why, metric_path, new, old, tolerance)

    if force:
        return d(True, "promotion forced")
    if new is None:
        return d(False, f"the new model's test report has no {metric_path}")
    if not current_exists:
        return d(True, "there is no current model")
    if old is None:
        return d(False, f"the current model could not be scored on {metric_path} (no evaluation, no card); "
                        f"promote by hand or retrain with force")
    if new + 1e-9 >= old - tolerance:
        return d(True, f"test {metric_path} {new:.4f} ≥ current {old:.4f} − tolerance {tolerance:g}")
    return d(False, f"test {metric_path} {new:.4f} < current {old:.4f} − tolerance {tolerance:g}")


def read_card(model_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(model_dir) / CARD_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_card(model_dir: Path, card: dict[str, Any]) -> Path:
    """card.json (the registry's record: version, reports, decision) and a Registry section in README.md (the
    trainer's model card; a short one is written when the trainer left none)."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    _write_json(model_dir / CARD_JSON, card)
    md = model_dir / CARD_MD
    text = md.read_text(encoding="utf-8") if md.exists() else f"# jianbao extractor {card.get('version')}\n"
    marker = "\n## Registry\n"
    text = text.split(marker)[0].rstrip("\n") + "\n" + marker + "\n" + _registry_section(card)
    md.write_text(text, encoding="utf-8")
    return model_dir / CARD_JSON


def _registry_section(card: dict[str, Any]) -> str:
    dec = card.get("decision") or {}
    lines = [f"- version: `{card.get('version')}`, trained {card.get('created')}",
             f"- test {dec.get('metric')}: {_f(dec.get('new'))} (current model: {_f(dec.get('old'))}, "
             f"tolerance {dec.get('tolerance')})",
             f"- promoted to current: {'yes' if dec.get('promote') else 'no'} — {dec.get('reason')}"]
    if card.get("dev"):
        lines.append(f"- dev entities micro F1: {_f(metric(card['dev'], 'entities.micro.f1'))}")
    return "\n".join(lines) + "\n"


def promote(src: Path, current: Path) -> Path:
    """Make `current` a copy of `src`: copied beside it, then swapped in by renames (readers see the old or the new
    bundle, never a mixture); a symlink at `current` is replaced by the copy."""
    src, current = Path(src), Path(current)
    current.parent.mkdir(parents=True, exist_ok=True)
    tmp = current.with_name(f".{current.name}.new-{os.getpid()}")
    old = current.with_name(f".{current.name}.old-{os.getpid()}")
    for p in (tmp, old):
        if p.exists():
            shutil.rmtree(p)
    shutil.copytree(src, tmp)
    if current.is_symlink():
        current.unlink()
    elif current.exists():
        os.rename(current, old)
    os.rename(tmp, current)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
    return current


# ------------------------------------------------------------------------------------------------ tables

def _f(x: Any) -> str:
    return f"{x:.4f}" if isinstance(x, (int, float)) and not isinstance(x, bool) else "–"


def _rows(report: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """name → {p, r, f1, support} for every label, relation type and summary line of a report."""
    out: dict[str, dict[str, Any]] = {}
    if not report:
        return out
    for label, d in (report.get("entities", {}).get("per_label") or {}).items():
        out[label] = d
    for rtype, d in (report.get("relations", {}).get("per_type") or {}).items():
        out[f"rel:{rtype}"] = d
    for name, path in (("entities (micro)", ("entities", "micro")), ("relations (micro)", ("relations", "micro"))):
        d = report.get(path[0], {}).get(path[1])
        if d:
            out[name] = d
    for name in ("quantities", "facts"):
        if isinstance(report.get(name), dict):
            out[name] = report[name]
    if "norm_accuracy" in report:
        out["norm accuracy"] = {"f1": report["norm_accuracy"]}
    return out


def comparison_markdown(old: dict[str, Any] | None, new: dict[str, Any] | None, decision: Decision | None = None,
                        title: str = "retrain", old_name: str = "current", new_name: str = "new") -> str:
    """Old vs new per label (P, R, F1 and the F1 change), then the summary lines and the decision."""
    o, n = _rows(old), _rows(new)
    names = list(dict.fromkeys([*n, *o]))
    lines = [f"# jianbao {title}", ""]
    if decision is not None:
        verdict = "**promoted**" if decision.promote else "**not promoted**"
        lines += [f"{verdict}: {decision.reason}", ""]
    lines += [f"| test | {old_name} P | {old_name} R | {old_name} F1 | {new_name} P | {new_name} R | {new_name} F1 "
              f"| Δ F1 | support |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in names:
        a, b = o.get(name, {}), n.get(name, {})
        fa, fb = a.get("f1"), b.get("f1")
        delta = f"{fb - fa:+.4f}" if isinstance(fa, (int, float)) and isinstance(fb, (int, float)) else "–"
        label = f"**{name}**" if name in ("entities (micro)", "relations (micro)", "facts") else name
        lines.append(f"| {label} | {_f(a.get('p'))} | {_f(a.get('r'))} | {_f(fa)} | {_f(b.get('p'))} | "
                     f"{_f(b.get('r'))} | {_f(fb)} | {delta} | {b.get('support', a.get('support', ''))} |")
    return "\n".join(lines) + "\n"


def report_markdown(report: dict[str, Any], title: str) -> str:
    """One report as a table: P, R, F1 and support per label, relation type and summary line."""
    lines = [f"# {title}", "", "| test | P | R | F1 | support |", "|---|---:|---:|---:|---:|"]
    for name, d in _rows(report).items():
        label = f"**{name}**" if name in ("entities (micro)", "relations (micro)", "facts") else name
        lines.append(f"| {label} | {_f(d.get('p'))} | {_f(d.get('r'))} | {_f(d.get('f1'))} | {d.get('support', '')} |")
    return "\n".join(lines) + "\n"
