"""``make stress``: the entry point of the load-and-fault run; what it does is ``scripts/load/stress.py``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.load.stress import main

if __name__ == "__main__":
    sys.exit(main())
