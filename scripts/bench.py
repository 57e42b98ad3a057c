"""``make bench``: the entry point of the benchmark; what it does is ``scripts/load/bench.py``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.load.bench import main

if __name__ == "__main__":
    sys.exit(main())
