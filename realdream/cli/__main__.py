"""``python -m realdream.cli``: the same as the ``realdream`` console script."""

import sys

from realdream.cli import main

if __name__ == "__main__":
    sys.exit(main())
