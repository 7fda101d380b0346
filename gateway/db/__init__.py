"""The gateway's database: SQLAlchemy 2 async Core over SQLite or PostgreSQL."""
