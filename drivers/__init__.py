"""Pure codecs, one module per device protocol: bytes to typed readings and back."""
