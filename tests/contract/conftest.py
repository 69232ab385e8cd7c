"""The contract suite uses the shipped pytest plugin's fixtures (realdream.testing.plugin)."""

pytest_plugins = ["pytester"]
