"""One exception type for every error a user can cause, so interfaces print it instead of a traceback."""


class PixseekError(Exception):
    """A problem with the user's input, collection or environment, with a message meant for them."""
