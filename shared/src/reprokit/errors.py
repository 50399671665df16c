"""The one exception type that means "the user asked for something we cannot do"."""


class UsageError(Exception):
    """A user mistake (bad flag, missing data, wrong shapes, bad config).

    The CLI turns it into exit code 2 and a one-line message that says what to fix; it is never
    shown as a traceback.
    """
