"""Help text for `campusedge simulate …`: every option with a default says what it is."""

from __future__ import annotations

import argparse

from campusedge.argparse_words import HelpFormatter


class DefaultsHelpFormatter(HelpFormatter):
    """Appends "(default: X)" to an option's help, unless the help already names its default.

    Unlike argparse's ArgumentDefaultsHelpFormatter it says nothing for a default of None or
    a flag's False (those options explain in their help what happens without them).
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = super()._get_help_string(action) or ""  # argparse's own -h help translated
        default = action.default
        # Identity, not equality: a default of 0.0 (no fault injected) is worth saying.
        if (
            default is None
            or default is False
            or default is argparse.SUPPRESS
            or not action.option_strings
            or "default" in text
        ):
            return text
        shown = default if isinstance(default, str) else "%(default)s"
        return f"{text} (default: {shown})".lstrip()
