"""The two kinds of failure a caller can act on; the API turns them into 404 and 400."""


class NotFoundError(LookupError):
    """The thing asked for does not exist (or is not yours to see)."""


class BadInputError(ValueError):
    """The request is malformed; the message names what is wrong."""
