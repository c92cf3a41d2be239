from django.db import models


class BytewiseCharField(models.CharField):
    """Text compared byte-wise, so prefix searches can be index range scans.

    SQLite's default BINARY collation already orders by bytes; on PostgreSQL the column is
    created with COLLATE "C", whatever the database's own locale.
    """

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params


class PathField(BytewiseCharField):
    """A materialised path ('/1/12/130/'); subtree queries are range scans on it."""
