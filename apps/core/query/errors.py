"""The single exception type raised by the query language."""


class QueryError(ValueError):
    """A `q` parameter that cannot be parsed or does not fit the searchable fields.

    `field` names the offending API field so that callers can point the client at it;
    syntax errors belong to the parameter as a whole, hence the default "q".
    """

    def __init__(self, message: str, field: str = "q") -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message
