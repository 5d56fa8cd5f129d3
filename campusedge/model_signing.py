"""What a pose model's signature covers, shared by the gateway's signing tool and the boxes."""

from __future__ import annotations

import re

# A model's file name as boxes install it: plain, no folders.
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}\.onnx$")


def signed_message(file: str, sha256: str) -> bytes:
    """Its name and its hash together, so that neither can be swapped under the signature."""
    return f"campusedge-model\n{file}\n{sha256}\n".encode()
