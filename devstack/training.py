"""Train the reference assistant once per data fingerprint and cache the model.

The fingerprint covers everything that changes what `rasa train` produces: config, domain,
training data, the custom NLU component's source and the Rasa version. A model whose fingerprint
matches is reused, so `make run`, `make test` and the benchmarks train at most once between data
changes. A file lock keeps two processes (say, two test sessions) from training the same model.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / ".cache" / "models"

# Inputs that change the trained model; directories are hashed file by file, sorted.
_MODEL_INPUTS = ("config.yml", "domain.yml", "bot/data", "nlu")


def _files(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in _MODEL_INPUTS:
        path = root / name
        if path.is_dir():
            files.extend(
                p for p in sorted(path.rglob("*")) if p.is_file() and "__pycache__" not in p.parts
            )
        elif path.is_file():
            files.append(path)
    return files


def fingerprint(root: Path = ROOT) -> str:
    """A short hex digest of the model's inputs and the installed Rasa version."""
    from rasa import __version__ as rasa_version

    digest = hashlib.sha256(f"rasa={rasa_version}\n".encode())
    for path in _files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def ensure_model(root: Path = ROOT, quiet: bool = False) -> Path:
    """Path of a trained model for the current data, training it first if none is cached."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    target = CACHE_DIR / f"{fingerprint(root)}.tar.gz"
    if target.exists():
        return target
    with open(CACHE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():  # another process trained it while we waited
            return target
        if not quiet:
            print(f"Training the assistant (data changed; model {target.name}) ...", flush=True)
        # No dots: Rasa treats anything after one as a suffix of the fixed model name.
        tmp_name = f"partial-{target.name.split('.')[0]}"
        command = [
            str(Path(sys.executable).parent / "rasa"),
            "train",
            "--domain",
            "domain.yml",
            "--data",
            "bot/data",
            "--config",
            "config.yml",
            "--out",
            str(CACHE_DIR),
            "--fixed-model-name",
            tmp_name,
        ]
        env = {**os.environ, "PYTHONPATH": str(root)}
        out = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        produced = CACHE_DIR / f"{tmp_name}.tar.gz"
        if out.returncode != 0 or not produced.exists():
            tail = "\n".join((out.stdout + out.stderr).splitlines()[-30:])
            raise RuntimeError(f"rasa train failed (exit {out.returncode}):\n{tail}")
        produced.replace(target)  # atomic: a model is either whole or absent
    return target


def main() -> int:
    model = ensure_model()
    print(f"Model: {model.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
