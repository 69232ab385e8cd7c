"""Whether "Sign in with Hugging Face" can work here, and if not, why (in one line).

Gradio's ``gr.LoginButton`` signs visitors in through the Space's OAuth app: Hugging Face sets
``OAUTH_CLIENT_ID`` and friends in a Space whose README front matter says ``hf_oauth: true``.
Anywhere else Gradio falls back to the developer's own Hugging Face login, which needs the
network at start-up; this app refuses to start with ``--require-login`` instead, and says so.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Final

__all__ = ["OAUTH_VARIABLES", "sign_in_problem"]

#: What a Space with ``hf_oauth: true`` provides (and Gradio's OAuth routes read).
OAUTH_VARIABLES: Final = (
    "OAUTH_CLIENT_ID",
    "OAUTH_CLIENT_SECRET",
    "OAUTH_SCOPES",
    "OPENID_PROVIDER_URL",
)


def sign_in_problem(env: Mapping[str, str]) -> str | None:
    """Why sign-in cannot work in ``env``, or ``None`` when it can."""
    on_a_space = env.get("SYSTEM") == "spaces" and bool(env.get("SPACE_ID"))
    missing = [name for name in OAUTH_VARIABLES if not env.get(name)]
    if not on_a_space or missing:
        return (
            "--require-login (REALDREAM_REQUIRE_LOGIN) needs Hugging Face sign-in, which only "
            "a Space with `hf_oauth: true` in its README front matter provides "
            f"({', '.join(missing or ['SYSTEM=spaces'])} not set here). Run without it "
            "locally: visitors are then counted by address."
        )
    if importlib.util.find_spec("authlib") is None:
        return "--require-login needs Gradio's sign-in extra: pip install 'gradio[oauth]'"
    return None
