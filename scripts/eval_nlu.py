"""NLU intent F1 per language on a held-back split (`make eval`).

Each language's NLU data (bot/data/nlu/<lang>/) is split 80/20 on its own, stratified by intent
(Rasa's TrainingData.train_test_split) with a fixed seed. By default ONE NLU model is trained on
both languages' 80% parts, as the production model serves both languages at once, and each
language's 20% is scored separately; one training instead of two keeps this cheap on a shared
2-core machine. `--separate` instead trains one model per language on its 80% plus the other
language's full data. Exits 1 when a language's weighted intent F1 is below --min-f1 (0.90).

Reports go to results/eval/ (git-ignored); models to a temporary directory outside the repo.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # config.yml names nlu.language_detector.LanguageDetector
NLU_DIR = ROOT / "bot" / "data" / "nlu"
LANGUAGES = ("en", "it")
SEED = 42
TRAIN_FRACTION = 0.8


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config.yml"))
    parser.add_argument("--domain", default=str(ROOT / "domain.yml"))
    parser.add_argument("--out", default=str(ROOT / "results" / "eval"))
    parser.add_argument("--min-f1", type=float, default=0.90)
    parser.add_argument(
        "--separate",
        action="store_true",
        help="one model per language (its 80%% + the other language's full data)",
    )
    return parser.parse_args(argv)


def _load(paths: list[Path]):  # -> TrainingData (Rasa imported lazily: it is slow to import)
    from rasa.shared.nlu.training_data.loading import load_data

    data = [load_data(str(path)) for path in paths]
    return data[0].merge(*data[1:]) if len(data) > 1 else data[0]


def split_languages() -> tuple[dict, dict, object]:
    """(train by language, test by language, shared data such as regexes)."""
    shared_files = sorted(p for p in NLU_DIR.glob("*.yml"))
    shared = _load(shared_files) if shared_files else None
    train, test = {}, {}
    for language in LANGUAGES:
        data = _load(sorted((NLU_DIR / language).glob("*.yml")))
        train[language], test[language] = data.train_test_split(TRAIN_FRACTION, SEED)
    return train, test, shared


def _train(config: str, domain: str, parts: list, workdir: Path, name: str) -> str:
    from rasa.model_training import train_nlu

    merged = parts[0].merge(*parts[1:])
    data_file = workdir / f"{name}-train.yml"
    data_file.write_text(merged.nlu_as_yaml(), encoding="utf-8")
    model = train_nlu(config, str(data_file), str(workdir), fixed_model_name=name, domain=domain)
    if not model:
        raise SystemExit(f"eval_nlu: training {name} failed")
    return model


async def _predict(model_path: str, texts: list[str]) -> list[str]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    predicted = []
    for text in texts:
        result = await agent.parse_message(text)
        predicted.append((result.get("intent") or {}).get("name") or "None")
    return predicted


def score(language: str, model_path: str, test, out: Path) -> dict:
    """Intent macro/weighted F1 of `model_path` on `test`; full report and errors to `out`."""
    from sklearn.metrics import classification_report, f1_score

    examples = test.intent_examples
    texts = [example.get("text") for example in examples]
    gold = [example.get("intent") for example in examples]
    predicted = asyncio.run(_predict(model_path, texts))
    # Scored over the intents of the test set: a prediction of nlu_fallback counts as an error of
    # the gold intent, not as a class of its own with an F1 of zero.
    labels = sorted(set(gold))
    summary = {
        "language": language,
        "test_examples": len(texts),
        "macro_f1": round(
            f1_score(gold, predicted, labels=labels, average="macro", zero_division=0), 4
        ),
        "weighted_f1": round(
            f1_score(gold, predicted, labels=labels, average="weighted", zero_division=0), 4
        ),
        "accuracy": round(sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold), 4),
    }
    report = classification_report(gold, predicted, output_dict=True, zero_division=0)
    errors = [
        {"text": t, "intent": g, "predicted": p}
        for t, g, p in zip(texts, gold, predicted, strict=True)
        if g != p
    ]
    (out / f"{language}_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (out / f"{language}_errors.json").write_text(
        json.dumps(errors, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    (out / f"{language}_test.yml").write_text(test.nlu_as_yaml(), encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    train, test, shared = split_languages()
    extra = [shared] if shared is not None else []
    summaries = []
    with tempfile.TemporaryDirectory(prefix="sigillo-eval-") as tmp:
        workdir = Path(tmp)
        if args.separate:
            for language in LANGUAGES:
                others = [
                    _load(sorted((NLU_DIR / o).glob("*.yml"))) for o in LANGUAGES if o != language
                ]
                parts = [train[language], *others, *extra]
                model = _train(args.config, args.domain, parts, workdir, f"eval-{language}")
                summaries.append(score(language, model, test[language], out))
        else:
            parts = [train[language] for language in LANGUAGES] + extra
            model = _train(args.config, args.domain, parts, workdir, "eval-joint")
            summaries.extend(score(language, model, test[language], out) for language in LANGUAGES)

    result = {
        "mode": "separate" if args.separate else "joint",
        "seed": SEED,
        "train_fraction": TRAIN_FRACTION,
        "min_weighted_f1": args.min_f1,
        "seconds": round(time.monotonic() - started, 1),
        "languages": summaries,
    }
    (out / "summary.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"\nNLU intent F1 on a held-back {1 - TRAIN_FRACTION:.0%} split ({result['mode']} model)")
    failed = []
    for s in summaries:
        ok = s["weighted_f1"] >= args.min_f1
        failed += [] if ok else [s["language"]]
        print(
            f"  {s['language']}: weighted F1 {s['weighted_f1']:.3f}  macro F1 {s['macro_f1']:.3f}"
            f"  accuracy {s['accuracy']:.3f}  (n={s['test_examples']})  {'ok' if ok else 'FAIL'}"
        )
    print(f"  reports: {out}")
    if failed:
        print(f"eval_nlu: weighted F1 below {args.min_f1} for {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
