"""Words and looks: page text, the backend banner, theme and CSS (given to ``launch()``)."""

from __future__ import annotations

from typing import Final

import gradio as gr

import realdream
from demo._backend import MOCK_ENV, Backend, Mode
from realdream import contract

__all__ = ["CSS", "INTRO", "KEY_INFO", "SEED_INFO", "TITLE", "banner", "theme"]

TITLE: Final = f"{contract.MODEL_NAME} · realdream"
INTRO: Final = (
    f"# {contract.MODEL_NAME}\n"
    "Photorealistic portraits from a text prompt with Segmind's SDXL Lightning model. "
    "Every image downloads as a PNG with its exact parameters embedded "
    "(AUTOMATIC1111 `parameters` text), so other tools can read them back."
)
KEY_INFO: Final = (
    "Used for this request only: never stored, logged or shown. "
    f"Keys look like {contract.API_KEY_SHAPE}."
)
SEED_INFO: Final = (
    f"{realdream.LIMITS['seed'].default:g} (or empty) picks a random seed; "
    "the seed used is shown with the results."
)
SCHEDULER_INFO: Final = (
    "Names marked † are the usual AUTOMATIC1111 names the vendor's page does not list."
)
UNCONFIRMED_MARK: Final = " †"

_OFFLINE: Final = (
    "**Offline mock: images are offline placeholders.** No API key is configured, so the "
    "built-in mock server draws them in this process; no real credits are spent and nothing "
    "leaves this machine. Paste your Segmind API key below to generate real images."
)
_FORCED: Final = (
    f"**Offline mock mode: images are offline placeholders.** The app was started with "
    f"`{MOCK_ENV}=1` or `--mock`, so every request goes to the built-in mock server in this "
    "process; no real credits are spent and nothing leaves this machine."
)
_SERVER_KEY: Final = (
    f"Generating with Segmind's API: about ${contract.COST_PER_IMAGE_USD} per image, paid "
    "from this app's key unless you paste your own below."
)

CSS: Final = """
#backend-banner { padding: 0.6rem 0.9rem; border-radius: 8px; }
#backend-banner.offline { background: #fff7e0; border: 1px solid #f0c36d; color: #5c4300; }
#backend-banner.online { background: #e8f3ff; border: 1px solid #9cc7f5; color: #0b3b66; }
#backend-banner.offline *, #backend-banner.online * { color: inherit; }
#summary pre, #summary code { white-space: pre-wrap; overflow-wrap: anywhere; }
"""


def banner(backend: Backend) -> str:
    """What the banner at the top of the page says for ``backend``."""
    if backend.mode is Mode.FORCED_MOCK:
        return _FORCED
    if backend.mode is Mode.OFFLINE:
        return _OFFLINE
    if backend.mode is Mode.SERVER_KEY and backend.base_url is None:
        return _SERVER_KEY
    fallback = "the app's configured key"
    if backend.mode is Mode.CUSTOM_SERVER:
        fallback = "the mock server's documented test key"
    return (
        f"Requests go to **{backend.base_url}** (set by `{realdream.BASE_URL_ENV}`), with "
        f"the key you paste below, or else {fallback}."
    )


def scheduler_choices() -> list[tuple[str, str]]:
    """Every scheduler name, the unconfirmed ones marked."""
    return [
        (name if name in realdream.CONFIRMED_SCHEDULERS else name + UNCONFIRMED_MARK, name)
        for name in realdream.SCHEDULERS
    ]


def theme() -> gr.themes.Base:
    """A calm theme using system fonts (no web fonts: the app works offline)."""
    system = ["ui-sans-serif", "system-ui", "sans-serif"]
    return gr.themes.Soft(font=system, font_mono=["ui-monospace", "monospace"])
