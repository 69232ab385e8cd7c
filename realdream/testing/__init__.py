"""Test helpers for code that uses realdream: hypothesis strategies and a pytest plugin.

``realdream.testing.strategies`` needs ``hypothesis``; the pytest plugin (registered
automatically through the ``pytest11`` entry point) needs the ``mock`` extra when its fixtures
are used. Neither is imported by ``import realdream``.
"""
