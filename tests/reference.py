"""The vendor's reference page sample, verbatim, and the request body it sends."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

#: The Python sample from the vendor's reference page, exactly as published.
SAMPLE_CODE = (Path(__file__).parent / "data" / "segmind_sample.py.txt").read_text()


def _payload(code: str) -> dict[str, Any]:
    found = re.search(r"^data = (\{.*?^\})", code, flags=re.MULTILINE | re.DOTALL)
    assert found, "the sample's data block moved"
    data: dict[str, Any] = json.loads(found.group(1))  # the block is JSON (note: false)
    return data


#: The body the sample sends: 768x1152, seed 968875, DPM++ SDE, 8 steps, guidance 1.2.
REFERENCE_PAYLOAD = _payload(SAMPLE_CODE)
