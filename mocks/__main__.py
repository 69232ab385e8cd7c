"""``python -m realdream.mock`` (or ``python -m mocks`` in a checkout): serve until Ctrl-C."""

from realdream.mock._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
