"""``python -m mocks``: run the mock server until Ctrl-C."""

from mocks._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
