"""Hugging Face Space entry point: ``python app.py`` serves the RealDream Lightning demo.

Without ``SEGMIND_API_KEY`` the images come from the offline mock in this process. Options:
``python app.py --help``; ``--mcp`` (or ``REALDREAM_MCP=1``) also serves it to agents as an
MCP server at ``/gradio_api/mcp/``. Nothing happens at import time.
"""

import sys

from demo import main

if __name__ == "__main__":
    sys.exit(main())
