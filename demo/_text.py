"""Words and looks: page text, the backend banner, theme and CSS (given to ``launch()``)."""

from __future__ import annotations

from typing import Final

import gradio as gr

import realdream
from demo._backend import MOCK_ENV, Backend, Mode
from demo._refusals import format_usd
from demo._settings import GuardSettings
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
_SIGN_IN: Final = (
    "**Sign in with Hugging Face to use this app's key.** Without signing in you can still "
    'paste your own Segmind key, or tick "Offline mock" for free placeholder images.'
)

CSS: Final = """
#backend-banner { padding: 0.6rem 0.9rem; border-radius: 8px; }
#backend-banner.offline { background: #fff7e0; border: 1px solid #f0c36d; color: #5c4300; }
#backend-banner.online { background: #e8f3ff; border: 1px solid #9cc7f5; color: #0b3b66; }
#backend-banner.offline *, #backend-banner.online * { color: inherit; }
#summary pre, #summary code { white-space: pre-wrap; overflow-wrap: anywhere; }
#allowance { padding: 0 0.2rem; }
/* Each image whole, its caption under it, not over it (on a phone labels covered it). */
#gallery .grid-wrap { max-height: none; }
#gallery .thumbnail-item {
  aspect-ratio: auto; height: auto; display: flex; flex-direction: column;
}
#gallery .thumbnail-item > img { height: auto; max-height: 70vh; object-fit: contain; }
#gallery .caption-label {
  position: static; max-width: 100%; border: none; border-radius: 0;
  border-top: 1px solid var(--border-color-primary);
}
"""


def banner(backend: Backend, limits: GuardSettings | None = None) -> str:
    """What the banner at the top of the page says for ``backend`` (and the app key's
    ``limits``, when it has a key of its own)."""
    if backend.mode is Mode.FORCED_MOCK:
        return _FORCED
    if backend.mode is Mode.OFFLINE:
        return _OFFLINE
    if backend.mode is Mode.SERVER_KEY and backend.base_url is None:
        text = _SERVER_KEY
    else:
        fallback = "the app's configured key"
        if backend.mode is Mode.CUSTOM_SERVER:
            fallback = "the mock server's documented test key"
        text = (
            f"Requests go to **{backend.base_url}** (set by `{realdream.BASE_URL_ENV}`), with "
            f"the key you paste below, or else {fallback}."
        )
    if backend.mode is Mode.SERVER_KEY and limits is not None:
        text += " " + limits_text(limits)
        if limits.require_login:
            text += "\n\n" + _SIGN_IN
    return text


def limits_text(limits: GuardSettings) -> str:
    """The app key's limits in one sentence."""
    parts = []
    if limits.visitor_images_per_hour:
        parts.append(f"{limits.visitor_images_per_hour} images an hour per visitor")
    if limits.daily_budget_usd:
        parts.append(f"{format_usd(limits.daily_budget_usd)} a day in all")
    if not parts:
        return "Your own key has no limits here."
    return f"On this app's key: at most {' and '.join(parts)}; your own key has no limits here."


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
