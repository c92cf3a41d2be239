from django.db import models


class PathField(models.CharField):
    """A materialised path ('/1/12/130/') compared byte-wise.

    Subtree queries are range scans on this column, so its ordering must be plain byte order:
    SQLite's default BINARY collation is; on PostgreSQL the column is created with COLLATE "C",
    whatever the database's own locale.
    """

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params
