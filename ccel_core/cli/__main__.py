"""``python -m ccel_core.cli …`` (also the entry point for ``torchrun … -m ccel_core.cli fit …``)."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
