"""What an error keeps of the request it was sending: :class:`SentRequest`.

A leaf below the exception tree. Every :class:`~realdream.GenerationRequest` is a
:class:`SentRequest` by its shape, so :attr:`RealDreamError.request <realdream.RealDreamError>`
is typed without the tree importing the parameters module, which raises a ``ValidationError``
(part of the tree): the type lives below both, and no import loop joins them.
"""

from __future__ import annotations

from typing import Any, Protocol

from realdream.contract import Scheduler

__all__ = ["SentRequest"]


class SentRequest(Protocol):
    """A request as it was sent (seed resolved), read-only: its parameters and :attr:`payload`,
    the exact JSON body. At run time it is the :class:`~realdream.GenerationRequest` that was
    sent; narrow with ``isinstance(request, GenerationRequest)`` to send it again."""

    @property
    def prompt(self) -> str: ...
    @property
    def negative_prompt(self) -> str: ...
    @property
    def samples(self) -> int: ...
    @property
    def scheduler(self) -> Scheduler: ...
    @property
    def num_inference_steps(self) -> int: ...
    @property
    def guidance_scale(self) -> float: ...
    @property
    def seed(self) -> int: ...
    @property
    def img_width(self) -> int: ...
    @property
    def img_height(self) -> int: ...
    @property
    def base64(self) -> bool: ...
    @property
    def payload(self) -> dict[str, Any]:
        """The exact JSON body that was sent."""
        ...
