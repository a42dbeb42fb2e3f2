from tests.unit.tasks.conftest import db  # noqa: F401 - the migrated SQLite database fixture
