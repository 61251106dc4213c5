"""The one exception type the CLI turns into a one-line message."""


class HadamhwError(Exception):
    """A user-facing error: bad input, bad file, unsupported configuration."""
