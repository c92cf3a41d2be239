"""Run the benchmarks: `python bench/run.py [--only GROUP]`.

Each module bench/<group>.py defines `run(emit)` and calls `emit(name, value, unit)` once per
figure; names start with the group ("locator.batch_lookups_per_s"). One line per figure is
printed as `name: value unit`, so runs can be compared over time.
"""

import argparse
import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

ORDER = ["seed", "locator"]  # seed first: later groups reuse the district database it builds


def discover() -> list[str]:
    found = sorted(p.stem for p in HERE.glob("*.py") if p.stem not in {"run"} and not p.stem.startswith("_"))
    return [g for g in ORDER if g in found] + [g for g in found if g not in ORDER]


def emit(name: str, value: float, unit: str) -> None:
    text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
    print(f"{name}: {text} {unit}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="run one group (the part of a figure's name before the dot)")
    args = parser.parse_args()
    groups = discover()
    if args.only:
        if args.only not in groups:
            print(f"no benchmark group {args.only!r}; groups: {', '.join(groups)}", file=sys.stderr)
            return 2
        groups = [args.only]
    import _setup

    _setup.configure()
    for group in groups:
        importlib.import_module(group).run(emit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
