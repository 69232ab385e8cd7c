"""The contract through the plugin's client only: these run against the offline mock by
default and against the real API with ``pytest --realdream-live`` (about $0.006 a run)."""

from __future__ import annotations

import pytest

import realdream
from realdream import contract


def test_one_image_comes_back_jpeg_at_the_size_and_seed_asked(realdream_client) -> None:
    result = realdream_client.generate(
        "a red fox, studio light", seed=7, img_width=256, img_height=256
    )
    image = result.image
    assert (image.mime_type, image.width, image.height) == (contract.IMAGE_CONTENT_TYPE, 256, 256)
    assert result.seed == 7
    assert result.cost == pytest.approx(contract.COST_PER_IMAGE_USD)
    assert result.remaining_credits is not None
    assert result.request_id


def test_two_samples_return_two_images(realdream_client) -> None:
    result = realdream_client.generate("a red fox", samples=2, img_width=256, img_height=256)
    assert len(result.images) == 2
    assert result.cost == pytest.approx(contract.cost(2))


def test_the_credits_endpoint_answers_a_balance(realdream_client) -> None:
    credits = realdream_client.credits()
    assert isinstance(credits, realdream.Credits)
    assert credits.credits >= 0
    assert credits.free_credits >= 0
